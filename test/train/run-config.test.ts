import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorDataSpec, anchorScoredInput } from '../../src/data/index.ts';
import { anchorRunPaths } from '../../src/train/run-config.ts';
import { anchorSweepPaths, validateSweep } from '../../src/sweep/sweep-file.ts';

test('anchorDataSpec: a spec\'s folder made absolute, its options kept; specs without a folder and unknown text as they are', () => {
  assert.equal(anchorDataSpec('folder:imgs?classes=cats,dogs', '/home/me/project'), 'folder:/home/me/project/imgs?classes=cats,dogs');
  assert.equal(anchorDataSpec('captions:../birds', '/home/me/project'), 'captions:/home/me/birds');
  assert.equal(anchorDataSpec('pairs:/data/city?split=test', '/home/me'), 'pairs:/data/city?split=test');
  for (const spec of ['mnist', 'mnist?classes=0,1', 'shapes:200', 'shapes?seed=3', 'folder:', 'imgs', 'flder:imgs']) assert.equal(anchorDataSpec(spec, '/p'), spec);
  // eval.fid.real: a statistics file or a run folder is a path too.
  assert.equal(anchorScoredInput('stats/cifar.npz', '/p'), '/p/stats/cifar.npz');
  assert.equal(anchorScoredInput('runs/other', '/p'), '/p/runs/other');
  assert.equal(anchorScoredInput('cifar10:data?classes=cat', '/p'), 'cifar10:/p/data?classes=cat');
  assert.equal(anchorScoredInput('mnist', '/p'), 'mnist');
});

test('anchorRunPaths: every file and folder a config names, from the folder it was given in; nothing else, and wrong types left for validation', () => {
  const given = {
    family: 'pix2pixhd', data: 'pairs:city', initFrom: 'runs/global',
    model: { ngf: 8, vggWeights: 'w/vgg19.pth' }, train: { steps: 4 },
    eval: { fid: { n: 10, real: 'pairs:city?split=test', features: 'runs/seg', weights: '/abs/incep.pth', vgg16: 'w/vgg16.pth' }, every: 2 },
  };
  assert.deepEqual(anchorRunPaths(given, '/p'), {
    family: 'pix2pixhd', data: 'pairs:/p/city', initFrom: '/p/runs/global',
    model: { ngf: 8, vggWeights: '/p/w/vgg19.pth' }, train: { steps: 4 },
    eval: { fid: { n: 10, real: 'pairs:/p/city?split=test', features: '/p/runs/seg', weights: '/abs/incep.pth', vgg16: '/p/w/vgg16.pth' }, every: 2 },
  });
  assert.equal(given.data, 'pairs:city', 'the config given is not changed');
  const odd = { data: 3, initFrom: '', model: null, eval: null };
  assert.deepEqual(anchorRunPaths(odd, '/p'), odd);
  assert.deepEqual(anchorRunPaths({ train: { steps: 8 } }, '/p'), { train: { steps: 8 } }, 'a resume\'s changes without paths');
});

test('anchorSweepPaths: the base config, a data axis and eval.fid, as workers elsewhere must read them', () => {
  const sweep = validateSweep({
    base: { family: 'dcgan', data: 'folder:imgs', train: { steps: 10 } },
    grid: { data: ['folder:a', 'mnist'], 'model.vggWeights': ['v.pth'], seed: [0, 1] },
    eval: { fid: { n: 100, real: 'folder:imgs', features: 'runs/clf' } },
  }, 'test sweep');
  const anchored = anchorSweepPaths(sweep, '/p');
  assert.equal(anchored.base.data, 'folder:/p/imgs');
  assert.deepEqual(anchored.grid, { data: ['folder:/p/a', 'mnist'], 'model.vggWeights': ['/p/v.pth'], seed: [0, 1] });
  assert.deepEqual(anchored.eval.fid, { ...sweep.eval.fid, real: 'folder:/p/imgs', features: '/p/runs/clf' });
  assert.deepEqual(anchorSweepPaths(anchored, '/elsewhere'), anchored, 'absolute paths stay');
  const plain = validateSweep({ base: { family: 'dcgan' }, grid: { seed: [0] } }, 'test sweep');
  assert.deepEqual(anchorSweepPaths(plain, '/p'), plain);
});
