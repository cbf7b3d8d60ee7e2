/**
 * Combines concurrent requests into one model call. A request that finds the model idle runs at
 * once, adding no latency; requests that arrive while it is busy wait, and then go through
 * together, up to `maxPairs` pairs per call. Each gets back exactly its own rows.
 */
export function combineRequests(run, maxPairs) {
    const queue = [];
    let busy = false;
    async function drain() {
        busy = true;
        while (queue.length > 0) {
            const batch = [queue.shift()];
            let pairs = batch[0].hypotheses.length;
            while (queue.length > 0 && pairs + queue[0].hypotheses.length <= maxPairs) {
                const next = queue.shift();
                pairs += next.hypotheses.length;
                batch.push(next);
            }
            const premises = batch.flatMap((job) => job.hypotheses.map(() => job.premise));
            const hypotheses = batch.flatMap((job) => job.hypotheses);
            try {
                const rows = await run(premises, hypotheses);
                let offset = 0;
                for (const job of batch) {
                    job.resolve(rows.slice(offset, offset + job.hypotheses.length));
                    offset += job.hypotheses.length;
                }
            }
            catch (err) {
                for (const job of batch)
                    job.reject(err);
            }
        }
        busy = false;
    }
    return (job) => new Promise((resolve, reject) => {
        queue.push({ ...job, resolve, reject });
        if (!busy)
            void drain();
    });
}
