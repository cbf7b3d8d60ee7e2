import { describe, expect, it } from 'vitest'
import { rightsOf } from '../src/services/access.js'

// The one place a user's rights are computed: own grants joined with their groups', admin = all;
// an API key's scope narrows them (`within`, for the key scopes of issue 20).

const group = (name: string, blocks: string[]) => ({ group_id: `id-${name}`, name, blocks })

describe('rightsOf', () => {
  it('joins own grants with every group’s, and names each reason', () => {
    const rights = rightsOf({ role: 'user', blocks: ['a'] }, [group('g1', ['a', 'b']), group('g2', []), group('g3', ['c'])])
    expect(['a', 'b', 'c', 'd'].map((b) => rights.allows(b))).toEqual([true, true, true, false])
    expect(rights.via('a')).toEqual(['own', 'group:g1'])
    expect(rights.via('c')).toEqual(['group:g3'])
    expect(rights.via('d')).toEqual([])
    expect(rights.blocks()).toEqual(['a', 'b', 'c'])
    // A group that grants nothing yet is still held, so that a change to it finds the principal.
    expect(rights.hasGroup('id-g2')).toBe(true)
    expect(rights.hasGroup('id-other')).toBe(false)
  })

  it('reads * as every block, from the user or a group', () => {
    expect(rightsOf({ role: 'user', blocks: ['*'] }, []).via('x')).toEqual(['own'])
    const viaGroup = rightsOf({ role: 'user', blocks: [] }, [group('all', ['*'])])
    expect(viaGroup.allows('anything')).toBe(true)
    expect(viaGroup.blocks()).toEqual(['*'])
  })

  it('lets an admin reach every block, whatever the grants say', () => {
    const admin = rightsOf({ role: 'admin', blocks: [] }, [])
    expect(admin.allows('x')).toBe(true)
    expect(admin.via('x')).toEqual(['admin'])
    expect(rightsOf({ role: 'user', blocks: [] }, []).allows('x')).toBe(false)
  })
})

describe('Rights.within (a key scope)', () => {
  const owner = rightsOf({ role: 'user', blocks: ['a'] }, [group('g', ['b', 'c'])])

  it('keeps all of the owner’s rights for no scope (null) or *', () => {
    expect(owner.within(null)).toBe(owner)
    expect(owner.within(['*'])).toBe(owner)
  })

  it('allows only what both the scope and the owner allow, with the owner’s reasons', () => {
    const key = owner.within(['b', 'z'])
    expect(['a', 'b', 'c', 'z'].map((b) => key.allows(b))).toEqual([false, true, false, false])
    expect(key.via('b')).toEqual(['group:g'])
  })

  it('narrows an admin to the scope', () => {
    const key = rightsOf({ role: 'admin', blocks: [] }, []).within(['a'])
    expect(key.allows('a')).toBe(true)
    expect(key.allows('b')).toBe(false)
    expect(key.via('a')).toEqual(['admin'])
  })
})
