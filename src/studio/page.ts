/**
 * The studio page: one self-contained HTML document (no build step, no external files). It asks the
 * server (server.ts) for vectors and PNGs and draws four panels: latent sliders, interpolation, latent
 * arithmetic and, for conditional runs, the class or typed caption every image is drawn with.
 */
export const STUDIO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gantry studio</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #16181c; color: #e8e8e8; }
  header { padding: 10px 18px; background: #23262d; display: flex; gap: 18px; align-items: baseline; }
  header h1 { font-size: 17px; margin: 0; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 14px; padding: 14px; }
  section { background: #23262d; border-radius: 6px; padding: 12px 14px; }
  section h2 { font-size: 15px; margin: 0 0 8px; }
  img.out { image-rendering: pixelated; background: #000; max-width: 100%; display: block; margin-top: 8px; }
  #sliders { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2px 10px; max-height: 260px; overflow-y: auto; margin-top: 8px; }
  #sliders label { font-size: 11px; color: #aaa; display: flex; align-items: center; gap: 4px; }
  #sliders input { width: 100%; }
  input[type=text], input[type=number], select { background: #111; color: #eee; border: 1px solid #444; border-radius: 3px; padding: 3px 5px; }
  input[type=text] { width: 100%; box-sizing: border-box; }
  button { background: #3b6fd8; color: white; border: 0; border-radius: 3px; padding: 4px 10px; cursor: pointer; }
  .row { display: flex; gap: 8px; align-items: center; margin: 6px 0; flex-wrap: wrap; }
  .error { color: #ff8080; min-height: 1.2em; }
  .hint { color: #999; font-size: 12px; }
</style>
</head>
<body>
<header><h1>gantry studio</h1><span id="about"></span></header>
<main>
  <section id="condition" hidden>
    <h2>Condition</h2>
    <div class="row" id="classRow" hidden>class <select id="cls"></select></div>
    <div id="textRow" hidden>
      <div class="row"><input type="text" id="caption" placeholder="type a caption and press Enter"></div>
      <div class="hint" id="captionHint"></div>
    </div>
  </section>
  <section>
    <h2>Latent vector</h2>
    <div class="row">seed <input type="number" id="seed" value="0" min="0" style="width:7em"> <button id="random">random seed</button> <span class="hint">the sliders are seed:N's vector; move them</span></div>
    <div id="sliders"></div>
    <img class="out" id="single" width="256">
    <div class="error" id="singleError"></div>
  </section>
  <section>
    <h2>Interpolation</h2>
    <div class="row">from seed <input type="number" id="seedA" value="3" min="0" style="width:6em"> to seed <input type="number" id="seedB" value="17" min="0" style="width:6em"> frames <input type="number" id="frames" value="8" min="2" max="32" style="width:4em"> <button id="interpolate">draw</button></div>
    <div class="row" id="textInterp" hidden>or between captions at the seed above: <input type="text" id="captionA" placeholder="caption A"><input type="text" id="captionB" placeholder="caption B"><button id="interpolateText">draw</button></div>
    <img class="out" id="strip">
    <div class="error" id="stripError"></div>
  </section>
  <section>
    <h2>Latent arithmetic</h2>
    <div class="row"><input type="text" id="expr" value="seed:12 - seed:40 + mean(seed:1,seed:2,seed:3)"> <button id="arith">draw</button></div>
    <div class="hint">each term's image, then the result</div>
    <img class="out" id="arithOut">
    <div class="error" id="arithError"></div>
  </section>
</main>
<script>
const $ = (id) => document.getElementById(id);
let info = null;
let z = [];
let condition = null; // class weights or a sentence vector, the same for every image

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error((await res.json().catch(() => ({ error: res.statusText }))).error);
  return res.headers.get('content-type').startsWith('image/') ? URL.createObjectURL(await res.blob()) : res.json();
}

async function draw(img, errorBox, vectors, conditions, cols) {
  try {
    const url = await api('/api/images', { z: vectors, conditions: conditions ?? undefined, cols });
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = url;
    errorBox.textContent = '';
  } catch (err) {
    errorBox.textContent = err.message;
  }
}

const repeat = (n) => (condition ? Array.from({ length: n }, () => condition) : null);

let pending = null;
function redrawSingle() {
  clearTimeout(pending);
  pending = setTimeout(() => draw($('single'), $('singleError'), [z], repeat(1), 1), 60);
}

async function loadSeed(seed) {
  z = (await api('/api/latent?seed=' + seed)).z;
  const box = $('sliders');
  box.innerHTML = '';
  z.forEach((v, i) => {
    const label = document.createElement('label');
    const input = Object.assign(document.createElement('input'), { type: 'range', min: -3, max: 3, step: 0.01, value: v });
    input.addEventListener('input', () => { z[i] = Number(input.value); redrawSingle(); });
    label.append('z' + i, input);
    box.append(label);
  });
  redrawSingle();
}

async function setCaption(text) {
  const { vectors, unknown } = await api('/api/text', { captions: [text] });
  condition = vectors[0];
  $('captionHint').textContent = unknown[0].length ? 'never seen in training (read as unknown): ' + unknown[0].join(', ') : '';
}

async function refreshAll() {
  redrawSingle();
  if ($('strip').src) $('interpolate').click();
  if ($('arithOut').src) $('arith').click();
}

async function start() {
  info = await api('/api/info');
  $('about').textContent = info.family + ' · ' + info.run + ' · step ' + info.step + ' · ' + info.imageSize + 'x' + info.imageSize;
  if (info.classes) {
    $('condition').hidden = false;
    $('classRow').hidden = false;
    info.classes.forEach((name, k) => $('cls').append(Object.assign(document.createElement('option'), { value: k, textContent: name })));
    const pick = () => { condition = info.classes.map((_, k) => (k === Number($('cls').value) ? 1 : 0)); refreshAll(); };
    $('cls').addEventListener('change', pick);
    condition = info.classes.map((_, k) => (k === 0 ? 1 : 0));
  }
  if (info.captions) {
    $('condition').hidden = false;
    $('textRow').hidden = false;
    $('textInterp').hidden = false;
    $('caption').value = info.captions[0] ?? '';
    $('captionA').value = info.captions[0] ?? '';
    $('captionB').value = info.captions[1] ?? '';
    await setCaption($('caption').value);
    $('caption').addEventListener('keydown', async (e) => { if (e.key === 'Enter') { await setCaption($('caption').value); refreshAll(); } });
  }
  $('seed').addEventListener('change', () => loadSeed(Number($('seed').value)));
  $('random').addEventListener('click', () => { $('seed').value = Math.floor(Math.random() * 100000); loadSeed(Number($('seed').value)); });
  $('interpolate').addEventListener('click', async () => {
    const frames = Number($('frames').value);
    const [a, b] = await Promise.all([api('/api/latent?seed=' + $('seedA').value), api('/api/latent?seed=' + $('seedB').value)]);
    const { vectors } = await api('/api/slerp', { a: a.z, b: b.z, frames });
    draw($('strip'), $('stripError'), vectors, repeat(frames), frames);
  });
  $('interpolateText').addEventListener('click', async () => {
    const frames = Number($('frames').value);
    const { vectors: [a, b] } = await api('/api/text', { captions: [$('captionA').value, $('captionB').value] });
    const mixes = Array.from({ length: frames }, (_, f) => a.map((v, i) => v + (f / (frames - 1)) * (b[i] - v)));
    draw($('strip'), $('stripError'), mixes.map(() => z), mixes, frames);
  });
  $('arith').addEventListener('click', async () => {
    try {
      const { vectors } = await api('/api/arith', { expr: $('expr').value });
      draw($('arithOut'), $('arithError'), vectors, repeat(vectors.length), vectors.length);
    } catch (err) {
      $('arithError').textContent = err.message;
    }
  });
  await loadSeed(0);
}

start().catch((err) => { $('about').textContent = 'cannot reach the studio server: ' + err.message; });
</script>
</body>
</html>
`;
