// fer serve's page: photos (drop or pick) and the webcam, both through POST /api/v1/analyze.
'use strict';

const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const COLOURS = Object.fromEntries(EMOTIONS.map((e) => [e, getComputedStyle(document.documentElement).getPropertyValue('--' + e).trim()]));
const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

async function analyze(blob, query = '') {
  const response = await fetch('/api/v1/analyze' + query, { method: 'POST', body: blob, headers: { 'Content-Type': blob.type || 'application/octet-stream' } });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new Error(answer && answer.error ? answer.error.message : 'HTTP ' + response.status);
  return answer;
}

// One face's card: number, top emotion, the seven scores as bars.
function faceItem(face, index) {
  const bars = element('div', { class: 'bars' });
  for (const e of EMOTIONS) {
    const p = face.scores[e];
    const fill = element('i');
    fill.style.width = (100 * p).toFixed(1) + '%';
    fill.style.background = COLOURS[e];
    bars.append(element('span', { text: e }), element('div', { class: 'bar' }, fill), element('span', { class: 'value', text: (100 * p).toFixed(0) + '%' }));
  }
  const badge = element('span', { class: 'badge', text: String(index + 1) });
  badge.style.background = COLOURS[face.emotion];
  return element('li', { class: 'face', 'data-emotion': face.emotion },
    element('div', { class: 'title' }, badge, element('span', { text: face.emotion + ' ' + (100 * face.scores[face.emotion]).toFixed(0) + '%' })), bars);
}

// Numbered boxes over a drawn image; `scale` maps image pixels to canvas pixels.
function drawBoxes(context, faces, scale) {
  const width = Math.max(2, Math.round(3 * scale * Math.max(1, context.canvas.width / 900)));
  faces.forEach((face, i) => {
    const { x, y, w, h } = face.box;
    const colour = COLOURS[face.emotion];
    context.lineWidth = width;
    context.strokeStyle = colour;
    context.strokeRect(x * scale, y * scale, w * scale, h * scale);
    const size = Math.max(13, Math.min(26, w * scale / 5));
    context.font = `600 ${size}px system-ui, sans-serif`;
    const label = `${i + 1} ${face.emotion}`;
    const tw = context.measureText(label).width + 10;
    const top = y * scale - size - 6 >= 0 ? y * scale - size - 6 : y * scale;
    context.fillStyle = colour;
    context.fillRect(x * scale - width / 2, top, tw, size + 6);
    context.fillStyle = '#fff';
    context.fillText(label, x * scale + 5 - width / 2, top + size);
  });
}

async function showPhoto(file) {
  const card = element('article', { class: 'card', 'data-state': 'loading' });
  const heading = element('h2', {}, element('span', { text: file.name }), element('span', { class: 'muted', text: 'analyzing…' }));
  const canvas = element('canvas');
  const list = element('ol', { class: 'faces' });
  card.append(heading, canvas, list);
  $('results').prepend(card);
  try {
    const [answer, bitmap] = await Promise.all([analyze(file), createImageBitmap(file)]);
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const context = canvas.getContext('2d');
    context.drawImage(bitmap, 0, 0);
    drawBoxes(context, answer.faces, 1);
    answer.faces.forEach((f, i) => list.append(faceItem(f, i)));
    if (!answer.faces.length) list.append(element('li', { class: 'muted', text: 'no face found' }));
    heading.lastChild.textContent = `${answer.faces.length} face${answer.faces.length === 1 ? '' : 's'} · ${answer.width}×${answer.height} · ${answer.elapsed_ms.toFixed(0)} ms`;
    card.append(element('details', {}, element('summary', { text: 'JSON' }), element('pre', { text: JSON.stringify(answer, null, 2) })));
    card.dataset.state = 'done';
  } catch (error) {
    canvas.remove();
    list.remove();
    heading.lastChild.textContent = 'failed';
    card.append(element('p', { class: 'error', text: error.message }));
    card.dataset.state = 'error';
  }
}

function showPhotos(files) {
  for (const file of files) showPhoto(file);
}

// ---- webcam: a frame every 150 ms at most, the next one only once the last is answered ----
// The detector's cost falls steeply with the smallest face it looks for (docs/serving.md: a
// 640x480 frame takes ~15x less time with min_size=100 than with the default 20 px), and the next
// frame of a webcam holds the faces of the last one: once faces are found, frames ask only for
// faces at least 3/4 the size of the smallest of them; every 2 s, or when none is found, a frame
// is scanned for every size again, so a newcomer or a face moving away is found within 2 s.
const camera = { stream: null, running: false, frames: [], canvas: document.createElement('canvas'), minFace: 0, lastFullScan: 0 };
const FULL_SCAN_MS = 2000;

async function startCamera() {
  try {
    camera.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    $('camera-stats').textContent = 'no camera: ' + error.message;
    return;
  }
  const video = $('video');
  video.srcObject = camera.stream;
  await video.play();
  camera.running = true;
  $('camera-toggle').textContent = 'Stop the camera';
  loop();
}

function stopCamera() {
  camera.running = false;
  if (camera.stream) camera.stream.getTracks().forEach((t) => t.stop());
  camera.stream = null;
  $('camera-toggle').textContent = 'Start the camera';
  $('camera-stats').textContent = 'camera off';
  const overlay = $('overlay');
  overlay.getContext('2d').clearRect(0, 0, overlay.width, overlay.height);
}

async function loop() {
  const video = $('video');
  const overlay = $('overlay');
  while (camera.running) {
    const started = performance.now();
    if (video.videoWidth) {
      camera.canvas.width = video.videoWidth;
      camera.canvas.height = video.videoHeight;
      camera.canvas.getContext('2d').drawImage(video, 0, 0);
      const blob = await new Promise((done) => camera.canvas.toBlob(done, 'image/jpeg', 0.85));
      try {
        const full = !camera.minFace || started - camera.lastFullScan > FULL_SCAN_MS;
        if (full) camera.lastFullScan = started;
        const answer = await analyze(blob, full ? '' : '?min_size=' + camera.minFace);
        if (!camera.running) break;
        camera.minFace = answer.faces.length ? Math.floor(0.75 * Math.min(...answer.faces.map((f) => Math.min(f.box.w, f.box.h)))) : 0;
        overlay.width = video.videoWidth;
        overlay.height = video.videoHeight;
        const context = overlay.getContext('2d');
        context.clearRect(0, 0, overlay.width, overlay.height);
        drawBoxes(context, answer.faces, 1);
        overlay.dataset.faces = String(answer.faces.length);
        const list = $('live-faces');
        list.replaceChildren(...answer.faces.map(faceItem));
        const now = performance.now();
        camera.frames.push(now);
        while (camera.frames.length && now - camera.frames[0] > 2000) camera.frames.shift();
        // A rate needs two answered frames; until then say so rather than show 0 frames/s.
        const rate = camera.frames.length > 1
          ? ((camera.frames.length - 1) * 1000 / (now - camera.frames[0])).toFixed(1) + ' frames/s' : 'first frame';
        $('camera-stats').textContent = `${rate} · ${answer.elapsed_ms.toFixed(0)} ms on the server · ${answer.faces.length} face${answer.faces.length === 1 ? '' : 's'}`;
      } catch (error) {
        $('camera-stats').textContent = 'error: ' + error.message;
      }
    }
    const wait = 150 - (performance.now() - started);
    await new Promise((done) => setTimeout(done, Math.max(0, wait)));
  }
}

// ---- wiring ----
function selectTab(name) {
  for (const tab of ['photos', 'webcam']) {
    $('tab-' + tab).classList.toggle('active', tab === name);
    $('tab-' + tab).setAttribute('aria-selected', String(tab === name));
    $(tab).hidden = tab !== name;
  }
  if (name !== 'webcam' && camera.running) stopCamera();
}

$('tab-photos').addEventListener('click', () => selectTab('photos'));
$('tab-webcam').addEventListener('click', () => selectTab('webcam'));
$('files').addEventListener('change', (e) => { showPhotos(e.target.files); e.target.value = ''; });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); showPhotos(e.dataTransfer.files); });
$('camera-toggle').addEventListener('click', () => (camera.running ? stopCamera() : startCamera()));

fetch('/api/v1/model').then((r) => r.json()).then((m) => {
  const accuracy = m.accuracy ? ` · ${(100 * m.accuracy.val_accuracy).toFixed(1)}% validation accuracy after epoch ${m.accuracy.epoch}` : '';
  $('model-info').textContent = `model ${m.file}: ${m.layers.length} layers, ${m.parameters.toLocaleString('en')} parameters${accuracy}`;
}).catch(() => { $('model-info').textContent = 'model description unavailable'; });
