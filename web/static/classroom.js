// The classroom demo page: TIC on trtcd. A teacher opens a class, students
// join it; everyone sees each other, chats (to the class or privately) and
// draws on a shared board that late joiners rebuild from the class history.
//
//   /classroom.html?role=teacher&classId=3101&userId=ms-li
//   /classroom.html?classId=3101&userId=tom
import { createTIC, TrtcdError, ErrorCode, TICModule } from '/sdk/tic.js';

const $ = id => document.getElementById(id);
const params = new URLSearchParams(location.search);

// Everything a test (or the curious) may want to look at.
const state = {
  joined: false, destroyed: false, error: null, waiting: false,
  role: params.get('role') === 'teacher' ? 'teacher' : 'student',
  classId: null, userId: '', creator: '',
  messages: [],  // received through TIC listeners: {listener, from, text|data}
  events: [],    // TIC events and status changes, by listener name
  boardStrokes: 0,
  tic: null,
};
window.classroom = state;

const COLORS = ['#1f2933', '#e5484d', '#2f7cf6', '#30a46c', '#f5a623'];
const WIDTHS = [{ label: 'Fine', value: 30 }, { label: 'Medium', value: 60 }, { label: 'Bold', value: 120 }]; // 1/10000 of the board height
const JOIN_RETRY_MS = 3000; // how often a student checks whether the class has opened
const CLASS_NOT_FOUND = 10010;
const CLASS_EXISTS = 10021;
// Messages kept in the chat, and entries in state.messages and
// state.events, as the mini program keeps: a class chatting for hours, or
// a member flooding it at 20 a second, must not grow the page without end.
const MAX_CHAT = 200;

// ---------------------------------------------------------------- errors --

const MODULE_NAMES = { [TICModule.IM]: 'IM', [TICModule.TRTC]: 'TRTC', [TICModule.BOARD]: 'Board' };

function showError(err, context) {
  const code = err instanceof TrtcdError ? err.code : '';
  const text = err instanceof TrtcdError ? err.reason : (err.message || String(err));
  state.error = { code, message: text, module: err.module };
  const module = MODULE_NAMES[err.module];
  $('toast-code').textContent = code ? `Error ${code}${module ? ` · ${module}` : ''}` : 'Error';
  $('toast-text').textContent = context ? `${context}: ${text}` : text;
  $('toast').hidden = false;
}
$('toast-close').onclick = () => { $('toast').hidden = true; };

function banner(text) {
  $('banner').textContent = text || '';
  $('banner').hidden = !text;
}

// ------------------------------------------------------------ the board --

// The board keeps every stroke with its class seq and draws them in seq
// order, so every page paints the same pixels whatever order the strokes
// arrived in. The page's own strokes wait at the end until the server
// numbers them. A stroke is {type: 'stroke', points: [[x, y]…] in 0..1,
// color, width in 1/10000 of the board height}.
function createBoard(canvas, live) {
  const ctx = canvas.getContext('2d');
  const liveCtx = live.getContext('2d');
  const strokes = []; // {seq, stroke}, sorted by seq; Infinity while unconfirmed
  const board = {
    option: { drawEnable: true },
    color: COLORS[0],
    width: WIDTHS[1].value,
    get count() { return strokes.length; },

    // TIC board interface: data from the class (others live, anyone in a replay).
    addSyncData(data, msg) {
      const stroke = parseStroke(data);
      if (stroke) insert({ seq: msg.seq, stroke });
    },
    setOption(option) {
      Object.assign(board.option, option);
      if (option.brushColor) board.color = option.brushColor;
      if (option.brushThin) board.width = option.brushThin;
    },
    reset() {
      strokes.length = 0;
      redraw();
    },

    // The page's own stroke: drawn now, numbered when the server answers.
    addOwn(stroke) {
      const entry = { seq: Infinity, stroke };
      insert(entry);
      return {
        confirm(seq) { entry.seq = seq; resort(); },
        discard() { strokes.splice(strokes.indexOf(entry), 1); redraw(); },
      };
    },
    drawLive(stroke) {
      liveCtx.clearRect(0, 0, live.width, live.height);
      if (stroke) paint(liveCtx, stroke);
    },
  };

  function insert(entry) {
    let i = strokes.length;
    while (i > 0 && strokes[i - 1].seq > entry.seq) i--;
    strokes.splice(i, 0, entry);
    if (i === strokes.length - 1) paint(ctx, entry.stroke); // on top: no need to repaint the rest
    else redraw();
    changed();
  }

  function resort() {
    const before = strokes.map(e => e.seq).join();
    strokes.sort((a, b) => a.seq - b.seq);
    if (strokes.map(e => e.seq).join() !== before) redraw();
  }

  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (const e of strokes) paint(ctx, e.stroke);
    changed();
  }

  function changed() { state.boardStrokes = strokes.length; }

  // paint draws one stroke: quadratic curves through the midpoints, so a
  // stroke looks smooth and paints identically on every page.
  function paint(c, { points, color, width }) {
    const W = c.canvas.width, H = c.canvas.height;
    const px = points.map(([x, y]) => [x * W, y * H]);
    c.strokeStyle = c.fillStyle = color;
    c.lineWidth = Math.max(1, width / 10000 * H);
    c.lineCap = c.lineJoin = 'round';
    if (px.length === 1) {
      c.beginPath();
      c.arc(px[0][0], px[0][1], c.lineWidth / 2, 0, 2 * Math.PI);
      c.fill();
      return;
    }
    c.beginPath();
    c.moveTo(...px[0]);
    for (let i = 1; i < px.length - 1; i++) {
      c.quadraticCurveTo(px[i][0], px[i][1], (px[i][0] + px[i + 1][0]) / 2, (px[i][1] + px[i + 1][1]) / 2);
    }
    c.lineTo(...px[px.length - 1]);
    c.stroke();
  }

  return board;
}

function parseStroke(data) {
  try {
    const s = JSON.parse(data);
    const ok = s && s.type === 'stroke' && Array.isArray(s.points) && s.points.length > 0 &&
      s.points.every(p => Array.isArray(p) && p.length === 2 && p.every(Number.isFinite));
    if (!ok) return null;
    return { type: 'stroke', points: s.points, color: String(s.color || '#000'), width: Number(s.width) || 60 };
  } catch {
    return null;
  }
}

// A stroke must fit one message (12 KB): ~16 bytes a point, so a long
// stroke is cut into pieces of at most this many points.
const MAX_POINTS = 500;
// Points closer than this (in board units) add bytes, not shape.
const MIN_STEP = 0.002;

const round4 = v => Math.round(Math.min(Math.max(v, 0), 1) * 10000) / 10000;

// draw shares one stroke: the board paints it, the class receives it.
function draw(points, color = board.color, width = board.width) {
  const stroke = { type: 'stroke', points: points.map(([x, y]) => [round4(x), round4(y)]), color, width };
  const mine = board.addOwn(stroke);
  return state.tic.sendBoardData(JSON.stringify(stroke))
    .then(reply => { mine.confirm(reply.seq); return reply.seq; })
    .catch(err => { mine.discard(); showError(err, 'Your drawing was not shared'); throw err; });
}

// Pointer input: the stroke in progress lives on the overlay canvas and
// moves onto the board when the pen lifts.
function enableDrawing(surface) {
  let points = null;
  const at = e => {
    const r = surface.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
  };
  const finish = () => {
    if (!points) return;
    const done = points;
    points = null;
    board.drawLive(null);
    if (state.joined) draw(done).catch(() => {});
  };
  surface.addEventListener('pointerdown', e => {
    if (!state.joined || !board.option.drawEnable || e.button !== 0) return;
    try { surface.setPointerCapture(e.pointerId); } catch { /* synthetic pointers have no capture */ }
    points = [at(e)];
    board.drawLive({ points, color: board.color, width: board.width });
  });
  surface.addEventListener('pointermove', e => {
    if (!points) return;
    const p = at(e), last = points[points.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) < MIN_STEP) return;
    points.push(p);
    if (points.length >= MAX_POINTS) { // share this piece, keep drawing from its end
      const piece = points;
      points = [p];
      if (state.joined) draw(piece).catch(() => {});
    }
    board.drawLive({ points, color: board.color, width: board.width });
  });
  surface.addEventListener('pointerup', finish);
  surface.addEventListener('pointercancel', finish);
}

function buildToolbar() {
  for (const color of COLORS) {
    const b = document.createElement('button');
    b.className = 'swatch';
    b.style.setProperty('--c', color);
    b.title = `Pen colour ${color}`;
    b.onclick = () => { board.color = color; markTools(); };
    b.dataset.color = color;
    $('swatches').append(b);
  }
  for (const w of WIDTHS) {
    const b = document.createElement('button');
    b.className = 'width';
    b.title = w.label;
    b.dataset.width = w.value;
    const line = document.createElement('span'); // styled through the DOM: the CSP allows no inline styles
    line.style.setProperty('--w', `${Math.round(w.value / 12) + 1}px`);
    b.append(line);
    b.onclick = () => { board.width = w.value; markTools(); };
    $('widths').append(b);
  }
  markTools();
}

function markTools() {
  for (const b of $('swatches').children) b.classList.toggle('active', b.dataset.color === board.color);
  for (const b of $('widths').children) b.classList.toggle('active', Number(b.dataset.width) === board.width);
}

const board = createBoard($('board'), $('board-live'));
buildToolbar();
enableDrawing($('board-surface'));

// ------------------------------------------------------------- the chat --

// members: everyone else in the class, in the order they came.
const members = new Map(); // userId → {userId, stream, screen}: screen while sharing

function addChat({ from, text, to, privately, mine, time, custom }) {
  $('chat-empty').hidden = true;
  const li = document.createElement('li');
  li.className = `msg${mine ? ' mine' : ''}${privately ? ' private' : ''}`;
  const who = mine ? (privately ? `You → ${to}` : 'You') : (privately ? `${from} → you` : from);
  const badge = from === state.creator ? '<span class="tag teacher">Teacher</span>' : '';
  const priv = privately ? '<span class="tag">Private</span>' : '';
  li.innerHTML = `<div class="meta"><b>${escapeHTML(who)}</b>${badge}${priv}<time>${clock(time)}</time></div>` +
    `<div class="bubble${custom ? ' custom' : ''}">${escapeHTML(text)}</div>`;
  $('chat-log').append(li);
  if (++chatShown > MAX_CHAT) {
    $('chat-log').querySelector('.msg').remove(); // the oldest
    chatShown--;
  }
  li.scrollIntoView({ block: 'end' });
  $('chat-count').textContent = String(chatShown);
}
let chatShown = 0; // messages in the chat log

function clearChat() {
  for (const li of $('chat-log').querySelectorAll('.msg')) li.remove();
  chatShown = 0;
  $('chat-empty').hidden = false;
  $('chat-count').textContent = '';
}

function updateRecipients() {
  const select = $('chat-to');
  const chosen = select.value;
  select.replaceChildren(new Option('Everyone', ''));
  for (const id of members.keys()) select.append(new Option(`Only ${id}`, id));
  select.value = members.has(chosen) ? chosen : '';
  placeholder();
}

function placeholder() {
  const to = $('chat-to').value;
  $('chat-input').placeholder = to ? `Private message to ${to}` : 'Message the class';
  $('chat-to').classList.toggle('private', !!to);
}
$('chat-to').onchange = placeholder;

$('chat-form').onsubmit = async e => {
  e.preventDefault();
  const text = $('chat-input').value.trim();
  const to = $('chat-to').value;
  if (!text || !state.joined) return;
  $('chat-input').value = '';
  try {
    const reply = to ? await state.tic.sendTextMessage(to, text) : await state.tic.sendGroupTextMessage(text);
    addChat({ from: state.userId, text, to, privately: !!to, mine: true, time: reply.time });
  } catch (err) {
    $('chat-input').value = text; // nothing lost: try again
    showError(err, 'Message not sent');
  }
};

// TIC message listener: what others say, in the chat; the test reads state.messages.
const messageListener = {
  onTICRecvTextMessage(from, text) { received('onTICRecvTextMessage', from, { text }); addChat({ from, text, privately: true }); },
  onTICRecvCustomMessage(from, data) { received('onTICRecvCustomMessage', from, { data }); addChat({ from, text: data, privately: true, custom: true }); },
  onTICRecvGroupTextMessage(from, text) { received('onTICRecvGroupTextMessage', from, { text }); },
  onTICRecvGroupCustomMessage(from, data) { received('onTICRecvGroupCustomMessage', from, { data }); },
  // Group messages go to the chat from here, with their own time (a replay
  // shows when things were said) — and including ours from an earlier visit.
  onTICRecvMessage(msg) {
    received('onTICRecvMessage', msg.from, { seq: msg.seq, type: msg.type });
    if (!msg.seq) return; // C2C: shown by the listeners above
    const mine = msg.from === state.userId;
    addChat({ from: msg.from, text: msg.type === 'text' ? msg.text : msg.data, mine, time: msg.time, custom: msg.type !== 'text' });
  },
};

function received(listener, from, body) { keep(state.messages, { listener, from, ...body }); }

// keep appends to a list of at most MAX_CHAT entries, dropping the oldest.
function keep(list, entry) {
  list.push(entry);
  if (list.length > MAX_CHAT) list.splice(0, list.length - MAX_CHAT);
}

// ------------------------------------------------------------ the video --

// The big tile shows "the other person": the teacher for a student; for
// the teacher, the student who came first. Everyone else gets a thumbnail.
// While that person shares the screen, the screen takes the big tile and
// their camera the first thumbnail.
function mainMember() {
  if (members.has(state.creator) && state.creator !== state.userId) return state.creator;
  return members.keys().next().value;
}

function layoutVideos() {
  const main = mainMember();
  const m = main && members.get(main);
  const sharing = !!m?.screen;
  showStream($('remote-tile'), $('remote-video'), sharing ? m.screen : m?.stream);
  $('remote-tile').classList.toggle('screen', sharing);
  $('remote-name').textContent = main ? label(main) + (sharing ? ' · Screen' : '') : '';
  $('remote-name').hidden = !main;
  $('remote-avatar').textContent = main ? main[0].toUpperCase() : '?';
  $('remote-waiting').textContent = main ? `Connecting to ${main}…` :
    (state.role === 'teacher' ? 'Waiting for students…' : 'Waiting for the teacher…');
  const thumbs = [...members.values()].filter(x => x.userId !== main);
  if (sharing) thumbs.unshift(m);
  $('thumbs').replaceChildren(...thumbs.map(thumb));
  $('thumbs').hidden = thumbs.length === 0;
  updatePresence();
}

function thumb({ userId, stream }) {
  const tile = document.createElement('div');
  tile.className = 'tile thumb';
  const v = document.createElement('video');
  Object.assign(v, { autoplay: true, playsInline: true });
  const face = document.createElement('div');
  face.className = 'placeholder';
  face.innerHTML = `<div class="avatar">${escapeHTML(userId[0].toUpperCase())}</div>`;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = label(userId);
  tile.append(v, face, name);
  showStream(tile, v, stream);
  return tile;
}

// showStream puts a stream in a tile; the avatar stays until frames play,
// so nobody looks at a black box while video starts (or with audio only).
function showStream(tile, video, stream) {
  if (video.srcObject === (stream || null)) return;
  tile.classList.remove('has-video');
  video.onplaying = () => tile.classList.add('has-video');
  video.srcObject = stream || null;
}

function label(userId) { return userId === state.creator ? `${userId} · Teacher` : userId; }

function updatePresence() {
  const n = members.size + 1;
  $('presence-text').textContent = `Live · ${n} in class`;
  $('presence').hidden = !state.joined;
}

function memberJoined(userId) {
  if (userId === state.userId || members.has(userId)) return;
  members.set(userId, { userId, stream: null, screen: null });
  updateRecipients();
  layoutVideos();
}

function memberLeft(userId) {
  members.delete(userId);
  updateRecipients();
  layoutVideos();
}

// ------------------------------------------------------- entering a class --

// Development servers hand out userSigs for their development app, so a
// newcomer needs nothing but the link (and a press on Enter class).
async function devCredentials(userId) {
  try {
    const r = await fetch(`/dev/usersig?userId=${encodeURIComponent(userId)}`);
    return r.ok ? await r.json() : null;
  } catch { return null; }
}

function randomId(prefix) { return prefix + Math.random().toString(36).slice(2, 6); }

// A class id made of digits is a numeric classId; anything else a strClassId.
function parseClassId(s) {
  s = String(s || '').trim();
  return /^[1-9]\d{0,9}$/.test(s) && Number(s) <= 4294967295 ? Number(s) : s;
}

async function start() {
  const teacher = state.role === 'teacher';
  const classId = params.get('classId') || (teacher ? String(1000 + Math.floor(Math.random() * 9000)) : '');
  let creds = { sdkAppId: params.get('sdkAppId'), userId: params.get('userId'), userSig: params.get('userSig') };
  if (!creds.userSig) {
    const dev = await devCredentials(creds.userId || randomId(teacher ? 'teacher-' : 'student-'));
    if (dev) { creds = dev; state.dev = true; }
  }
  const form = $('join-form');
  form.classId.value = classId;
  form.userId.value = creds.userId || '';
  form.role.value = state.role;
  form.sdkAppId.value = creds.sdkAppId || '';
  form.userSig.value = creds.userSig || '';
  form.onsubmit = e => { e.preventDefault(); enter(Object.fromEntries(new FormData(form))); };
  // A link only fills in the form: entering turns on the camera and the
  // microphone, which a site allowed once gets without asking again, so a
  // link from a stranger (with a userSig of theirs, for their class) must
  // not do it on its own. The person presses Enter class.
  $('join-button').disabled = false;
  $('join-button').focus();
}

async function enter({ sdkAppId, userId, userSig, classId, role }) {
  $('join-button').disabled = true;
  Object.assign(state, { role, classId: parseClassId(classId), userId, sdkAppId, userSig, error: null });
  const tic = state.tic || setUpTIC();
  try {
    await tic.init(Number(sdkAppId));
    await tic.login({ userId, userSig });
    wireMedia(tic.getTrtcClient());
    if (role === 'teacher') await openClass(tic);
    const info = await joinWhenOpen(tic);
    if (!info) return; // left while waiting
    if (role === 'teacher') await checkOwnClass(tic, info);
    entered(info);
    const local = await tic.publishLocalStream();
    $('local-video').srcObject = local;
  } catch (err) {
    showError(err);
    if (!state.joined) {
      await tic.logout().catch(() => {});
      show('join');
      $('join-button').disabled = false;
    }
  }
}

// openClass creates the class unless it exists: a teacher reopening the
// page goes back to the same class, board and all.
async function openClass(tic) {
  try {
    await tic.createClassroom(state.classId);
  } catch (err) {
    if (err.code !== CLASS_EXISTS) throw err;
  }
}

// checkOwnClass makes sure a teacher who found the class already there
// opened it earlier: someone else's class (whoever created the id first)
// would make them a student in a stranger's class, seen and heard by its
// owner. The join reply is the only place that names the creator, so a
// taken class is left at once, before the camera starts.
async function checkOwnClass(tic, info) {
  if (info.creator === state.userId) return;
  await tic.quitClassroom().catch(() => {});
  clearChat(); // its history was replayed during the join
  const err = new TrtcdError(CLASS_EXISTS, `Class ${state.classId} already exists and belongs to ${info.creator} — pick another class id`);
  err.module = TICModule.IM;
  throw err;
}

// joinWhenOpen joins; a student who comes before the teacher waits on a
// friendly screen and tries again until the class opens.
async function joinWhenOpen(tic) {
  for (let waited = false; ; waited = true) {
    try {
      const info = await tic.joinClassroom(state.classId, { brushColor: board.color, brushThin: board.width });
      state.waiting = false;
      return info;
    } catch (err) {
      if (waited && !state.waiting) return null; // cancelled while asking
      if (err.code !== CLASS_NOT_FOUND || state.role === 'teacher') throw err;
      state.waiting = true;
      $('waiting-text').textContent = `Class ${state.classId} has not started yet. You will enter as soon as the teacher opens it.`;
      show('waiting');
      await new Promise(r => setTimeout(r, JOIN_RETRY_MS));
      if (!state.waiting) return null;
    }
  }
}

function setUpTIC() {
  const tic = createTIC();
  state.tic = tic;
  tic.setBoard(board);
  tic.addTICMessageListener(messageListener);
  tic.addTICEventListener({
    onTICMemberJoin(ids) { event('onTICMemberJoin', ids); ids.forEach(memberJoined); },
    onTICMemberQuit(ids) { event('onTICMemberQuit', ids); ids.forEach(memberLeft); },
    onTICClassroomDestroy() { event('onTICClassroomDestroy'); classEnded('destroyed'); },
  });
  tic.addTICStatusListener({
    onTICForceOffline() {
      event('onTICForceOffline');
      showError(new TrtcdError(ErrorCode.FORCE_OFFLINE, 'this account signed in elsewhere'));
      classEnded('offline');
    },
    onTICConnectionLost() { event('onTICConnectionLost'); banner('Connection lost — reconnecting…'); },
    onTICConnectionRestored() { event('onTICConnectionRestored'); banner(''); },
    onTICConnectionFailed(code, desc) {
      event('onTICConnectionFailed');
      banner('');
      showError(new TrtcdError(code, desc), 'Could not reconnect');
      classEnded('lost');
    },
  });
  return tic;
}

function event(name, data) { keep(state.events, data ? { name, data } : { name }); }

// wireMedia follows the room under the class: remote streams into tiles.
function wireMedia(client) {
  if (client === state.wiredClient) return;
  state.wiredClient = client;
  client.on('remote-stream', ({ userId, stream, type }) => {
    memberJoined(userId);
    members.get(userId)[type === 'sub' ? 'screen' : 'stream'] = stream;
    layoutVideos();
  });
  client.on('remote-stream-removed', ({ userId }) => {
    if (!members.has(userId)) return;
    members.get(userId).screen = null;
    layoutVideos();
  });
  client.on('screen-stopped', () => $('share').setAttribute('aria-pressed', 'false'));
  // Once the class is over, its media connections failing is no news; a
  // lost connection or another sign-in reach the TIC status listener.
  const told = [ErrorCode.SIGNAL_CHANNEL_ERROR, ErrorCode.FORCE_OFFLINE];
  client.on('error', err => { if (state.joined && !told.includes(err.code)) showError(err); });
}

function entered(info) {
  state.joined = true;
  state.creator = info.creator;
  wireMedia(state.tic.getTrtcClient());
  members.clear();
  for (const m of info.members || []) memberJoined(m.userId);
  for (const [userId, r] of state.tic.getTrtcClient().remote) { // subscribed during the join
    memberJoined(userId);
    members.get(userId).stream = r.stream;
    if (r.screenShown) members.get(userId).screen = r.screen;
  }
  const teacher = state.creator === state.userId;
  $('class-label').innerHTML = `Class <b>${escapeHTML(String(state.classId))}</b> · ` +
    `you are <b>${escapeHTML(state.userId)}</b><span class="role-pill${teacher ? ' teacher' : ''}">${teacher ? 'Teacher' : 'Student'}</span>`;
  $('end-class').hidden = !teacher;
  $('copy-invite').hidden = !teacher;
  $('share').hidden = !teacher;
  $('board-note').textContent = teacher ? 'Everyone sees what you draw' : 'Draw with the class';
  updateRecipients();
  layoutVideos();
  show('class');
  $('controls').hidden = false;
}

// classEnded stops the call and says why, in words a student understands.
function classEnded(why) {
  const wasTeacher = state.creator === state.userId;
  state.joined = false;
  state.destroyed = why === 'destroyed';
  for (const t of $('local-video').srcObject?.getTracks() || []) t.stop();
  $('local-video').srcObject = null;
  members.clear();
  layoutVideos();
  const texts = {
    destroyed: wasTeacher
      ? [`You ended class ${state.classId}`, 'The class, its chat and its board were closed for everyone.']
      : [`Class ${state.classId} has ended`, 'The teacher ended the class. Thanks for joining!'],
    offline: ['You joined from somewhere else', `Your account entered class ${state.classId} in another tab or device, so this one left.`],
    left: ['You left the class', `Class ${state.classId} goes on without you. You can enter again.`],
    lost: ['Connection lost', 'The connection to the server could not be restored.'],
  };
  [$('ended-title').textContent, $('ended-text').textContent] = texts[why];
  // A class that is gone cannot be entered again; another one can.
  $('rejoin').textContent = why === 'destroyed' ? (wasTeacher ? 'Start a new class' : 'Join another class') : 'Enter again';
  $('rejoin').dataset.fresh = why === 'destroyed' ? '1' : '';
  show('ended');
  $('controls').hidden = true;
  $('end-class').hidden = $('copy-invite').hidden = $('share').hidden = true;
  $('share').setAttribute('aria-pressed', 'false');
  $('presence').hidden = true;
}

function show(section) {
  for (const id of ['join', 'waiting', 'ended', 'class']) $(id).hidden = id !== section;
}

// ---------------------------------------------------------------- controls --

function toggle(button, fn) {
  const on = button.getAttribute('aria-pressed') !== 'true';
  button.setAttribute('aria-pressed', String(on));
  fn(on).catch(showError);
}
$('mic').onclick = () => toggle($('mic'), m => state.tic.getTrtcClient().muteAudio(m));
$('camera').onclick = () => toggle($('camera'), m => state.tic.getTrtcClient().muteVideo(m));

$('leave').onclick = async () => {
  await state.tic.quitClassroom().catch(showError);
  classEnded('left');
};
// A student waiting at the wrong door can go back to the form.
$('waiting-cancel').onclick = async () => {
  state.waiting = false;
  await state.tic?.logout().catch(() => {});
  show('join');
  $('join-button').disabled = false;
};

$('rejoin').onclick = () => {
  if (!$('rejoin').dataset.fresh) return location.reload();
  const u = new URL(location.href);
  u.searchParams.delete('classId'); // a teacher gets a fresh class, a student the form
  location.href = u.toString();
};

$('end-class').onclick = () => { $('confirm').hidden = false; $('confirm-ok').focus(); };
$('confirm-cancel').onclick = () => { $('confirm').hidden = true; };
$('confirm-ok').onclick = async () => {
  $('confirm').hidden = true;
  try {
    await state.tic.destroyClassroom(state.classId);
    if (state.joined) classEnded('destroyed'); // in case the event came after the reply
  } catch (err) {
    showError(err, 'The class could not be ended');
  }
};

$('copy-invite').onclick = async () => {
  const u = new URL(location.href);
  u.search = '';
  u.searchParams.set('classId', state.classId);
  if (!state.dev) u.searchParams.set('sdkAppId', state.sdkAppId);
  try {
    await navigator.clipboard.writeText(u.toString());
    $('copy-invite').textContent = 'Link copied';
  } catch {
    prompt('Send this link to your students:', u.toString());
  }
  setTimeout(() => { $('copy-invite').textContent = 'Invite students'; }, 2000);
};

// ---------------------------------------------------------------- helpers --

function clock(ms) {
  const d = ms ? new Date(ms) : new Date();
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function escapeHTML(s) { return String(s).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`); }

// For tests: share a stroke as if drawn, and the media statistics.
state.draw = draw;
// shareScreen starts the teacher's screen share, as the Share button does;
// a test may pass a stream to share instead of asking the browser.
state.shareScreen = async stream => {
  const shared = await state.tic.getTrtcClient().publishScreen({ stream });
  $('share').setAttribute('aria-pressed', 'true');
  return shared.id;
};
$('share').onclick = async () => {
  const client = state.tic?.getTrtcClient();
  try {
    if (client?.screen) await client.stopScreen();
    else await state.shareScreen();
  } catch (err) {
    showError(err, 'Screen sharing');
  }
};

// Frames decoded per remote video: {userId: {camera, screen}}.
window.classroomVideo = async () => {
  const out = Object.create(null); // a member may be named __proto__
  for (const [userId, r] of state.tic?.getTrtcClient().remote || []) {
    out[userId] = { camera: await framesDecoded(r.videoTx.receiver), screen: await framesDecoded(r.screenTx.receiver) };
  }
  return JSON.stringify(out);
};

async function framesDecoded(receiver) {
  let n = 0;
  (await receiver.getStats()).forEach(s => { if (s.type === 'inbound-rtp') n += s.framesDecoded || 0; });
  return n;
}

window.classroomStats = async () => {
  const out = { inVideoFrames: 0, inAudioPackets: 0, outVideoBytes: 0 };
  const client = state.tic?.getTrtcClient();
  const pcs = [...(client?.remote.values() || [])].map(r => r.pc);
  if (client?.publisher) pcs.push(client.publisher.pc);
  for (const pc of pcs) {
    (await pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.inVideoFrames += s.framesDecoded || 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.inAudioPackets += s.packetsReceived || 0;
      if (s.type === 'outbound-rtp' && s.kind === 'video') out.outVideoBytes += s.bytesSent || 0;
    });
  }
  return JSON.stringify(out);
};

start();
