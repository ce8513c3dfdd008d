import { initEngine, tf } from './src/engine/index.ts';
import { Dcgan, dcganSchema } from './src/models/dcgan.ts';
import { Rng } from './src/engine/rng.ts';
await initEngine({ log: () => {} });
const cfg = dcganSchema.parse({ channels: 1, ngf: 8, ndf: 8 });
const m = new Dcgan(cfg, 1);
const imgs = tf.randomUniform([8, 32, 32, 1], -1, 1) as tf.Tensor4D;
for (let s = 0; s < 4; s++) {
  const t0 = performance.now();
  const l = m.trainStep({ images: imgs }, { step: s, rng: new Rng(1, 'step', s) });
  console.log(s, l.lossD.dataSync()[0], l.lossG.dataSync()[0], tf.memory().numTensors, (performance.now() - t0).toFixed(0), 'ms');
  tf.dispose(Object.values(l));
}
