import { existsSync } from 'node:fs';
import { combineRequests } from './combine.js';
import { nliLabels } from './scoring.js';
/** The pipeline's default: each class becomes the hypothesis "This example is <class>." */
export const HYPOTHESIS_TEMPLATE = 'This example is {}.';
/**
 * Loads the tokenizer and the ONNX sequence-classification model with transformers.js. Downloads
 * (when allowed) go to `modelsDir`; their progress is reported to core (0..1) and logged every 10%.
 */
export async function loadNliModel(settings, { progress, log }) {
    if (settings.localFolder && !existsSync(settings.model)) {
        throw new Error(`MLBLOCKS_ZSC_MODEL points to ${settings.model}, which does not exist. Set it to a model folder or a hub id.`);
    }
    const { AutoModelForSequenceClassification, AutoTokenizer, env } = await import('@huggingface/transformers');
    env.cacheDir = settings.modelsDir;
    env.remoteHost = settings.hubUrl;
    env.allowLocalModels = true;
    env.allowRemoteModels = !(settings.offline || settings.localFolder);
    const onProgress = downloadProgress((fraction) => {
        progress(fraction);
        log.info({ model: settings.model, percent: Math.round(fraction * 100) }, 'downloading model');
    });
    const options = { progress_callback: onProgress, cache_dir: settings.modelsDir };
    try {
        const [tokenizer, model] = await Promise.all([
            AutoTokenizer.from_pretrained(settings.model, options),
            AutoModelForSequenceClassification.from_pretrained(settings.model, { ...options, dtype: settings.dtype }),
        ]);
        return nliModel(tokenizer, model, { combine: settings.combine, maxPairs: settings.maxBatchPairs });
    }
    catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        const where = settings.localFolder ? `the folder ${settings.model}` : `'${settings.model}'`;
        const offline = env.allowRemoteModels ? '' : ' Downloads are off (local folder or MLBLOCKS_OFFLINE=1).';
        throw new Error(`could not load the model ${where} (${settings.dtype}): ${reason}.${offline} Check MLBLOCKS_ZSC_MODEL.`);
    }
}
export function nliModel(tokenizer, model, batching) {
    const labels = nliLabels(model.config.label2id);
    /** One forward pass over the pairs, padded to the longest. */
    const run = async (premises, hypotheses) => {
        const inputs = tokenizer([...premises], { text_pair: [...hypotheses], padding: true, truncation: true });
        const { logits } = (await model(inputs));
        return logits.tolist();
    };
    const combined = batching?.combine ? combineRequests(run, batching.maxPairs) : undefined;
    return {
        labels,
        logits: (premise, hypotheses) => (combined ? combined({ premise, hypotheses }) : run(hypotheses.map(() => premise), hypotheses)),
    };
}
/** Sums the bytes of every file being downloaded into one fraction, reported each time it passes a 10% step. */
function downloadProgress(report) {
    const files = new Map();
    let lastStep = -1;
    return (info) => {
        if (info.status !== 'progress' || !info.file || !info.total)
            return;
        files.set(info.file, { loaded: info.loaded ?? 0, total: info.total });
        let loaded = 0;
        let total = 0;
        for (const f of files.values()) {
            loaded += f.loaded;
            total += f.total;
        }
        const step = Math.floor((loaded / total) * 10);
        if (step > lastStep) {
            lastStep = step;
            report(Math.min(1, loaded / total));
        }
    };
}
