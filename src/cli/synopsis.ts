/**
 * The first line of each command's help: all `gantry --help` prints, so it loads no command (and no tfjs).
 */
export const SYNOPSIS = {
  BENCH: 'gantry bench [--workload dcgan32|dcgan64|pix2pixhd|sgemm1024 | --family NAME] [--device cpu|webgpu] [--steps 20] [--warmup 3] [--batch 64] [--generate | --project]',
  COMPARE: 'gantry compare --data SPEC --out DIR [--families vae,vae-gan,unet-vae-gan] [--steps 2000] [--batch 64] [--queue redis://HOST:PORT]',
  EVAL: 'gantry eval fid|kid|prc|is --real SPEC|STATS.npz --fake RUN_DIR|SPEC|STATS.npz [--n 10000]',
  SAMPLE: 'gantry sample --run RUN_DIR [--n 64] [--out grid.png | DIR] [--seed N] [--cols C] [--class K] [--text "..." ...] [--style-from IMG[,IMG...]] [--truncation T] [--latent JSON]',
  INTERPOLATE: 'gantry interpolate --run RUN_DIR [--seeds A,B[,C...] | --latents A.json,B.json] [--frames 8] [--out strip.png] [--class K] [--text "..."] [--truncation T]',
  RECONSTRUCT: 'gantry reconstruct --run RUN_DIR [--data SPEC] [--n 32] [--out reconstruct.png] [--seed N]',
  ARITH: 'gantry arith --run RUN_DIR --expr "seed:12 - seed:40 + seed:7" [--out arith.png] [--class K] [--text "..."] [--truncation T]',
  EXPORT: 'gantry export --run RUN_DIR --out DIR [--no-page]',
  STUDIO: 'gantry studio --run RUN_DIR [--port 7860] [--host 127.0.0.1]',
  SWEEP: 'gantry sweep SWEEP.json [--runs runs/sweeps] [--quiet] [--queue redis://HOST:PORT]',
  WORKER: 'gantry worker --queue redis://HOST:PORT --runs DIR [--device cpu|webgpu] [--concurrency 1] [--stall-seconds 30]',
  TRAIN: 'gantry train <family> [--data SPEC] [--config FILE.json] [--steps N | --epochs N] [--batch N]',
  TRANSLATE: 'gantry translate --run RUN_DIR --labels MAP.png|DIR [--instances INST.png|DIR] [--out image.png | DIR]\ngantry translate --run RUN_DIR --inputs PICTURE.png|DIR [--out image.png | DIR]',
  PROJECT: 'gantry project --run RUN_DIR --images A.png[,B.png...] [--out DIR] [--steps 300] [--class K] [--text "..."] [--lpips vgg.pth --vgg16 vgg16-397923af.pth] [--device cpu|webgpu]',
  FEATURES: 'gantry features --run RUN_DIR [--clusters 10] [--seed N] | --run RUN_DIR --maps-out DIR',
} as const;
