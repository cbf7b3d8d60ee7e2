import { describe, expect, it } from 'vitest'
import { addressKey } from '../src/services/client-address.js'

describe('addressKey: what a per-address limit counts a client under', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(addressKey('192.0.2.10')).toBe('192.0.2.10')
  })
  it('counts an IPv6 address by its /64, however it is written', () => {
    const key = '2001:db8:0:1::/64'
    for (const ip of ['2001:db8:0:1::1', '2001:db8::1:0:0:0:2', '2001:0db8:0000:0001:ffff:ffff:ffff:ffff', '2001:DB8:0:1:a::b', 'fe80::1%eth0'.replace('fe80::', '2001:db8:0:1::')]) {
      expect(addressKey(ip), ip).toBe(key)
    }
    expect(addressKey('2001:db8:0:2::1')).toBe('2001:db8:0:2::/64') // the next /64 is another client
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
  })
  it('reads an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(addressKey('::ffff:192.0.2.10')).toBe('192.0.2.10')
    expect(addressKey('::ffff:c000:20a')).toBe('192.0.2.10')
  })
  it('leaves anything that is not an address as it is', () => {
    expect(addressKey('not-an-address')).toBe('not-an-address')
  })
})
