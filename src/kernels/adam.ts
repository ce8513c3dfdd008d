/**
 * torch.optim.Adam's update of one parameter as one kernel: inputs p, g, m, v and scalars
 * [lr / (1 - beta1^t), sqrt(1 - beta2^t)], attributes beta1, beta2 and eps; outputs the new p, m and v,
 * which the optimizer assigns. On WebGPU (gpu/kernels/pointwise.ts: one dispatch where the tfjs ops took
 * thirteen per parameter); the cpu runs the addon's update (cpu/adam.ts). The tfjs-op form in
 * src/optim/adam.ts runs elsewhere and is the reference.
 */
export const ADAM = 'GantryAdam';
