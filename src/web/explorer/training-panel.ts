/**
 * The studio's live page: the Training panel (the run's step, rate and time left, newest losses and
 * scores, its plots and sample grids) and the reload when the run writes a newer checkpoint.
 */
import type { TrainingProgress } from '../training-progress.ts';
import { describeError, formatDuration } from '../../errors.ts';
import { $, input } from './page.ts';

/** How often the studio's live page asks whether the run has a newer checkpoint, and how its training goes. */
const LIVE_POLL_MS = 5000;

/** The studio's page: when the run writes a newer checkpoint, the page reloads with it (keeping the hash). */
export function watchForNewWeights(step: number): void {
  setInterval(() => {
    fetch('model.json', { cache: 'no-store' }).then((r) => r.json()).then((m: { step: number }) => {
      if (m.step !== step) location.reload();
    }, () => undefined);
  }, LIVE_POLL_MS);
}

/**
 * The studio's training panel: the run's step, rate and time left, newest losses and scores, its plots
 * and sample grids, asked for every few seconds. The grid slider follows the newest grid until moved.
 */
export function watchTraining(): void {
  const slider = input('trainSampleStep');
  let grids: TrainingProgress['samples'] = [];
  let plotRows = -1;
  const showGrid = () => {
    const grid = grids[Number(slider.value)];
    if (!grid) return;
    const img = $<HTMLImageElement>('trainSamples');
    if (!img.src.endsWith(`/samples/${grid.file}`)) img.src = `samples/${grid.file}`;
    $('trainSampleValue').textContent = `step ${grid.step.toLocaleString('en')}`;
  };
  slider.addEventListener('input', showGrid);
  const refresh = async () => {
    let p: TrainingProgress;
    try {
      const res = await fetch('progress.json', { cache: 'no-store' });
      if (!res.ok) throw new Error(await res.text());
      p = await res.json();
    } catch (err) {
      $('trainState').textContent = `cannot read the run's progress (${describeError(err).trim()}); asking again in ${LIVE_POLL_MS / 1000} s`;
      return;
    }
    $('training').hidden = false;
    $<HTMLProgressElement>('trainProgress').value = p.steps ? Math.min(1, p.step / p.steps) : 0;
    const reading = p.reading === null ? '' : ` · reading metrics.jsonl, ${Math.floor(100 * p.reading)}% so far`;
    $('trainStep').textContent = `step ${p.step.toLocaleString('en')} of ${p.steps.toLocaleString('en')} (${Math.floor((100 * p.step) / Math.max(1, p.steps))}%)${reading}`;
    $('trainState').textContent = p.writer
      ? `training (process ${p.writer.pid} on ${p.writer.host})${p.imagesPerSec ? ` · ${p.imagesPerSec.toFixed(p.imagesPerSec < 10 ? 1 : 0)} images/s · about ${formatDuration(p.etaSeconds ?? Infinity)} left` : ''}`
      : p.reading !== null ? 'not training now' : p.step >= p.steps ? 'finished' : `not training now: stopped at step ${p.step.toLocaleString('en')}; ${p.resume ?? ''}`;
    const number = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));
    $('trainValues').textContent = [
      ...Object.entries(p.losses).map(([k, v]) => `${k} ${number(v)}`),
      ...Object.entries(p.scores).map(([k, { step, value }]) => `${k} ${number(value)} (step ${step.toLocaleString('en')})`),
    ].join(' · ');
    if (p.rows !== plotRows) {
      plotRows = p.rows;
      $('trainPlots').replaceChildren(...p.plots.map((name) => Object.assign(document.createElement('img'), { src: `plots/${name}.svg?rows=${p.rows}`, alt: `${name} against the step` })));
    }
    const followNewest = Number(slider.value) >= grids.length - 1;
    const shown = grids[Number(slider.value)]?.step ?? 0;
    grids = p.samples;
    $('trainSamplesBox').hidden = grids.length === 0;
    slider.max = String(Math.max(0, grids.length - 1));
    // A long run's list is re-spread as grids come: the slider stays on the step it showed, or the nearest listed before it.
    if (followNewest) slider.value = slider.max;
    else slider.value = String(Math.max(0, grids.filter((g) => g.step <= shown).length - 1));
    showGrid();
    document.body.dataset.trainingStep = String(p.step);
  };
  void refresh();
  setInterval(() => void refresh(), LIVE_POLL_MS);
}
