import * as tf from '@tensorflow/tfjs-core';

/**
 * The backward pass behind tf.variableGrads, tf.grads and the rest, with each gradient freed once spent.
 *
 * tfjs's pass (Engine.gradients in tfjs-core 4.22) walks the tape from the loss back and keeps every
 * gradient it makes until the walk ends, so a training step's peak is its saved activations plus one
 * gradient for nearly every one of them, and every activation the tape saved until then too. This pass
 * walks the same tape in the same order with the same gradient functions and sums, so its gradients are
 * tfjs's to the bit, but frees a node's output gradients as soon as the node has passed them on to its
 * inputs, and (outside any other pass) what the node saved for it, as PyTorch's autograd does. Nested
 * passes (gradient penalties: a gradient of a gradient) are recorded on the outer tape as before, and
 * what the outer tape saved stays until the outer pass reads it.
 *
 * It reads the engine's tape state and scope methods, which tfjs does not export; `ownBackwardPass`
 * installs it only where they are there.
 */

interface TapeNode {
  id: number;
  kernelName: string;
  outputs: tf.Tensor[];
  inputs: Record<string, tf.Tensor>;
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  gradients: unknown;
}

let installed = false;

/** Puts this pass in place of tfjs's, once; false where the engine lacks what it reads (tfjs's stays). */
export function ownBackwardPass(): boolean {
  if (installed) return true;
  const engine = tf.engine() as unknown as EngineInternals;
  const needs = ['scopedRun', 'startTape', 'endTape', 'tidy'] as const;
  if (typeof engine.state?.gradientDepth !== 'number' || needs.some((m) => typeof engine[m] !== 'function')) return false;
  engine.gradients = gradients;
  installed = true;
  return true;
}

function gradients(this: EngineInternals, f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients = false): { value: tf.Tensor; grads: (tf.Tensor | undefined)[] } {
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = this.scopedRun(() => this.startTape(), () => this.endTape(), () => this.tidy('forward', f));
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  const tape = nodesFromXsToY(this.state.activeTape ?? [], xs, y);
  if (!allowNoGradients && tape.length === 0) {
    throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
  }
  // Outside any other pass, the tape ends with this one: what a node saved is spent once the node has
  // passed its gradients on, and what nodes off the path from xs to y saved is never read.
  const outermost = this.state.gradientDepth === 0;
  if (outermost) {
    const onPath = new Set(tape.map((node) => node.id));
    for (const node of this.state.activeTape ?? []) if (!onPath.has(node.id)) for (const t of node.saved ?? []) t.dispose();
  }
  return this.tidy('backward', () => {
    const grads = new Map<number, tf.Tensor>([[y.id, dy ?? tf.ones(y.shape)]]);
    const wanted = new Set(xs.map((x) => x.id));
    // Whether t is still some tensor's gradient (a gradient function may pass dy on unchanged).
    const held = (t: tf.Tensor) => [...grads.values()].includes(t);
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i];
      const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
      if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const inputGradients = node.gradient(dys);
      for (const [name, x] of Object.entries(node.inputs)) {
        if (!(name in inputGradients)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
        const dx = this.tidy(() => inputGradients[name]());
        if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        if (!tf.util.arraysEqual(dx.shape, x.shape)) throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
        const sum = grads.get(x.id);
        if (!sum) {
          grads.set(x.id, dx);
          continue;
        }
        grads.set(x.id, tf.add(sum, dx));
        sum.dispose();
        if (!dys.includes(dx) && !held(dx)) dx.dispose();
      }
      // (A gradient function may hand back what it saved as a gradient: that one stays.)
      if (outermost) for (const t of node.saved ?? []) if (!held(t)) t.dispose();
      // This node was the last to need its outputs' gradients.
      for (const o of node.outputs) {
        const g = grads.get(o.id);
        if (!g || wanted.has(o.id)) continue;
        grads.delete(o.id);
        if (g !== dy && !held(g)) g.dispose();
      }
    }
    const result = xs.map((x) => grads.get(x.id));
    if (this.state.gradientDepth === 0) {
      // Not inside another pass: the tape and what it saved are done with (as tfjs's pass ends).
      for (const node of this.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
      this.state.activeTape = null;
    }
    return { value: y, grads: result } as unknown as tf.TensorContainer;
  }) as unknown as { value: tf.Tensor; grads: (tf.Tensor | undefined)[] };
}

/**
 * The nodes on a path from xs to y, in tape order, each with only its inputs that depend on xs (tfjs's
 * getFilteredNodesXToY, which tfjs-core does not export).
 */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromXs = new Set(xs.map((x) => x.id));
  const nodesFromXs = new Set<number>();
  for (const node of tape) {
    if (!Object.values(node.inputs).some((t) => fromXs.has(t.id))) continue;
    for (const o of node.outputs) fromXs.add(o.id);
    nodesFromXs.add(node.id);
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    for (const t of Object.values(node.inputs)) toY.add(t.id);
    nodesToY.add(node.id);
  }
  return tape
    .filter((node) => nodesFromXs.has(node.id) && nodesToY.has(node.id))
    .map((node) => ({ ...node, inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => fromXs.has(t.id))) }));
}

/**
 * Runs f off the tape of any enclosing gradient pass: its ops are not recorded there, and a gradient
 * taken inside it starts a tape of its own, freed when that pass ends. For work inside a pass that the
 * pass's gradient cannot depend on (a GAN's discriminator update inside its generator's pass), whose
 * saved activations the enclosing tape would otherwise hold until it ends. Where gantry's pass is not
 * installed, f runs as is.
 */
export function offTape<T>(f: () => T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  if (!installed) return f();
  const { activeTape, gradientDepth } = engine.state;
  engine.state.activeTape = null;
  engine.state.gradientDepth = 0;
  try {
    return f();
  } finally {
    engine.state.activeTape = activeTape;
    engine.state.gradientDepth = gradientDepth;
  }
}

/** Whether a gradient pass is recording the ops run now (inside tf.grads, tf.variableGrads and the rest). */
export function gradientsRecorded(): boolean {
  return (tf.engine() as unknown as EngineInternals).state.gradientDepth > 0;
}

let twiceDifferentiableDepth = 0;

/**
 * Runs `f`, a pass whose output a gradient penalty differentiates by its input and then, through that
 * gradient, by the weights (R1): layers with a one-kernel gradient of the first order only (batch norm in
 * training) run as tfjs's ops inside it, whose gradients are ops again. Outside it they keep their kernel.
 */
export function twiceDifferentiable<T>(f: () => T): T {
  twiceDifferentiableDepth++;
  try {
    return f();
  } finally {
    twiceDifferentiableDepth--;
  }
}

/** Whether a layer runs inside twiceDifferentiable. */
export function insideTwiceDifferentiable(): boolean {
  return twiceDifferentiableDepth > 0;
}
