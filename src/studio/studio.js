// The studio page's script (inlined into studio.html by page.ts). Plain browser JavaScript, no modules.
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
  $('about').textContent = info.family + ' · ' + info.run + ' · step ' + info.step + ' · ' + info.width + 'x' + info.height;
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
