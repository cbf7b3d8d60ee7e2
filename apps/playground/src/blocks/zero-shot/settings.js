import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
export const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16'];
export const DEFAULT_MODEL = 'Xenova/bart-large-mnli';
/** Reads and checks the settings; a bad value throws one line naming the variable. */
export function zeroShotSettings(env = process.env, cwd = process.cwd()) {
    const model = env.MLBLOCKS_ZSC_MODEL?.trim() || DEFAULT_MODEL;
    const looksLikePath = isAbsolute(model) || model.startsWith('.') || existsSync(resolve(cwd, model));
    const dtype = (env.MLBLOCKS_ZSC_DTYPE?.trim() || 'q8');
    if (!DTYPES.includes(dtype)) {
        throw new Error(`MLBLOCKS_ZSC_DTYPE must be one of ${DTYPES.join(', ')}; got '${dtype}'.`);
    }
    return {
        model: looksLikePath ? resolve(cwd, model) : model,
        localFolder: looksLikePath,
        modelsDir: resolve(cwd, env.MLBLOCKS_MODELS_DIR?.trim() || '.mlblocks/models'),
        hubUrl: hubUrl(env.HF_ENDPOINT?.trim() || 'https://huggingface.co/'),
        offline: flag(env, 'MLBLOCKS_OFFLINE', false),
        dtype,
        maxClasses: integer(env, 'MLBLOCKS_ZSC_MAX_CLASSES', 32, 1, 1000),
        maxTextLength: integer(env, 'MLBLOCKS_ZSC_MAX_TEXT', 5000, 1, 1_000_000),
        combine: flag(env, 'MLBLOCKS_ZSC_COMBINE', true),
        maxBatchPairs: integer(env, 'MLBLOCKS_ZSC_BATCH_PAIRS', 64, 1, 4096),
    };
}
function hubUrl(raw) {
    let url;
    try {
        url = new URL(raw);
    }
    catch {
        throw new Error(`HF_ENDPOINT must be an http(s) URL; got '${raw}'.`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new Error(`HF_ENDPOINT must be an http(s) URL; got '${raw}'.`);
    return url.href.endsWith('/') ? url.href : `${url.href}/`;
}
function flag(env, name, fallback) {
    const raw = env[name]?.trim().toLowerCase();
    if (!raw)
        return fallback;
    if (raw === '0' || raw === 'false')
        return false;
    if (raw === '1' || raw === 'true')
        return true;
    throw new Error(`${name} must be 1, 0, true or false; got '${env[name]}'.`);
}
function integer(env, name, fallback, min, max) {
    const raw = env[name]?.trim();
    if (!raw)
        return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(`${name} must be a whole number from ${min} to ${max}; got '${raw}'.`);
    }
    return value;
}
