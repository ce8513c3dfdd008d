import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { ParamSet } from '../../src/nn/params.ts';
import { Adam } from '../../src/optim/adam.ts';
import { alternatingStep, type Player } from '../../src/models/gan-step.ts';

await setup();

/**
 * A one-number game: G makes fake = g, D scores d * x; D's loss (d * fake - d * real)^2 / 2 style terms,
 * G's loss -d * fake. Adam's first step moves each weight by lr against the sign of its gradient, so the
 * D that G's loss saw can be read off G's gradient sign and the losses.
 */
function game(d0: number, g0: number): { G: Player; D: Player } {
  const make = (name: string, v: number): Player => {
    const params = new ParamSet();
    params.add(name, tf.scalar(v));
    return { params, optimizer: new Adam(params.trainable(), { lr: 0.1, beta1: 0.5, beta2: 0.999 }) };
  };
  return { G: make('g', g0), D: make('d', d0) };
}

function step(players: { G: Player; D: Player }, simultaneous: boolean): { lossD: number; lossG: number; d: number; g: number } {
  const { G, D } = players;
  const [g, d] = [G.params.get('g'), D.params.get('d')];
  const real = tf.scalar(1);
  const losses = alternatingStep(G, D, {
    simultaneous,
    fake: () => tf.mul(g, 1) as tf.Scalar,
    // D wants d * real large and d * fake small: loss d * fake - d * real, whose gradient in d is fake - real.
    lossD: (fake) => ({ lossD: tf.sub(tf.mul(d, fake), tf.mul(d, real)) as tf.Scalar }),
    // G wants d * fake large: its loss is -d * fake, the value of d it sees is -lossG / fake.
    lossG: (fake) => tf.neg(tf.mul(d, fake)) as tf.Scalar,
  });
  const out = { lossD: losses.lossD.dataSync()[0], lossG: losses.lossG.dataSync()[0], d: d.dataSync()[0], g: g.dataSync()[0] };
  tf.dispose([real, ...Object.values(losses)]);
  return out;
}

test('alternating step: G learns through the updated D by default, through D as it was with simultaneous (D updated after)', () => {
  // fake 2 > real 1: D's gradient fake - real = 1 > 0, so Adam moves d from 0.5 to 0.4.
  const before = tf.memory().numTensors;
  const dcgan = step(game(0.5, 2), false);
  assert.ok(Math.abs(dcgan.d - 0.4) < 1e-5, `d after D's update ${dcgan.d}`);
  assert.ok(Math.abs(-dcgan.lossG / 2 - 0.4) < 1e-5, `G's loss saw d = ${-dcgan.lossG / 2}, the updated D`);

  const official = step(game(0.5, 2), true);
  assert.ok(Math.abs(official.d - 0.4) < 1e-5, `D is still updated: d = ${official.d}`);
  assert.ok(Math.abs(-official.lossG / 2 - 0.5) < 1e-5, `G's loss saw d = ${-official.lossG / 2}, D before its update`);
  assert.equal(official.lossD, dcgan.lossD, 'D\'s loss is the same pass either way');
  // G's gradient -d < 0 either way: g grows by Adam's step.
  assert.ok(Math.abs(official.g - 2.1) < 1e-5 && Math.abs(dcgan.g - 2.1) < 1e-5);
  assert.equal(tf.memory().numTensors, before + 2 * (2 + 2 * 2), 'only the players\' variables and Adam moments stay');
});
