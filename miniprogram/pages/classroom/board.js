// The classroom's whiteboard: TIC's board interface (addSyncData, setOption,
// reset) over a canvas. Strokes are the browser classroom's
// (web/static/classroom.js): {type: 'stroke', points: [[x, y]…] in 0..1 of
// the board, color, width in 1/10000 of the board's height}, sent as TIC
// board data (group custom messages with ext TXWhiteBoardExt) and kept in
// class seq order, so every board paints the same strokes in the same
// order; a late joiner's board is rebuilt from the class history.

// A stroke must fit one message (12 KB): ~16 bytes a point.
const MAX_POINTS = 500;
// Points closer than this (in board units) add bytes, not shape.
const MIN_STEP = 0.002;

function parseStroke(data) {
  try {
    const s = JSON.parse(data);
    const ok = s && s.type === 'stroke' && Array.isArray(s.points) && s.points.length > 0 &&
      s.points.every(p => Array.isArray(p) && p.length === 2 && p.every(Number.isFinite));
    if (!ok) return null;
    return { type: 'stroke', points: s.points, color: String(s.color || '#000'), width: Number(s.width) || 60 };
  } catch (e) {
    return null;
  }
}

const round4 = v => Math.round(Math.min(Math.max(v, 0), 1) * 10000) / 10000;

// makeStroke is what this page sends: points rounded as the browser does.
function makeStroke(points, color, width) {
  return { type: 'stroke', points: points.map(p => [round4(p[0]), round4(p[1])]), color, width };
}

class Board {
  // onChange(count) is told how many strokes the board holds.
  constructor(onChange) {
    this.strokes = []; // {seq, stroke}, sorted by seq; Infinity while unconfirmed
    this.option = { drawEnable: true };
    this.color = '#e5484d';
    this.width = 60;
    this.ctx = null; // a 2D context once the canvas is ready
    this.size = { width: 0, height: 0 };
    this.onChange = onChange || (() => {});
  }

  // --- TIC's board interface ---

  addSyncData(data, msg) {
    const stroke = parseStroke(data);
    if (stroke) this.insert({ seq: msg.seq, stroke });
  }

  setOption(option) {
    Object.assign(this.option, option);
    if (option.brushColor) this.color = option.brushColor;
    if (option.brushThin) this.width = option.brushThin;
  }

  reset() {
    this.strokes = [];
    this.redraw();
  }

  // --- this page's own strokes: drawn now, numbered when the server answers ---

  addOwn(stroke) {
    const entry = { seq: Infinity, stroke };
    this.insert(entry);
    return {
      confirm: (seq) => { entry.seq = seq; this.strokes.sort((a, b) => a.seq - b.seq); this.redraw(); },
      discard: () => { this.strokes.splice(this.strokes.indexOf(entry), 1); this.redraw(); },
    };
  }

  // attach gives the board its canvas: a 2D context (canvas type="2d") and
  // the size in its own pixels.
  attach(ctx, width, height) {
    this.ctx = ctx;
    this.size = { width, height };
    this.redraw();
  }

  insert(entry) {
    let i = this.strokes.length;
    while (i > 0 && this.strokes[i - 1].seq > entry.seq) i--;
    this.strokes.splice(i, 0, entry);
    if (i === this.strokes.length - 1) this.paint(entry.stroke); // on top: no need to repaint the rest
    else this.redraw();
    this.onChange(this.strokes.length);
  }

  redraw() {
    if (this.ctx) {
      this.ctx.clearRect(0, 0, this.size.width, this.size.height);
      this.strokes.forEach(e => this.paint(e.stroke));
    }
    this.onChange(this.strokes.length);
  }

  // paint draws one stroke as classroom.js does: quadratic curves through
  // the midpoints.
  paint(stroke) {
    const c = this.ctx;
    if (!c) return;
    const W = this.size.width, H = this.size.height;
    const px = stroke.points.map(p => [p[0] * W, p[1] * H]);
    c.strokeStyle = c.fillStyle = stroke.color;
    c.lineWidth = Math.max(1, stroke.width / 10000 * H);
    c.lineCap = c.lineJoin = 'round';
    c.beginPath();
    if (px.length === 1) {
      c.arc(px[0][0], px[0][1], c.lineWidth / 2, 0, 2 * Math.PI);
      c.fill();
      return;
    }
    c.moveTo(px[0][0], px[0][1]);
    for (let i = 1; i < px.length - 1; i++) {
      c.quadraticCurveTo(px[i][0], px[i][1], (px[i][0] + px[i + 1][0]) / 2, (px[i][1] + px[i + 1][1]) / 2);
    }
    c.lineTo(px[px.length - 1][0], px[px.length - 1][1]);
    c.stroke();
  }

  // data is the board data of every stroke in seq order, as the class
  // history holds it (what a test compares with the other boards).
  data() {
    return this.strokes.map(e => JSON.stringify(e.stroke));
  }
}

// Pen turns touches (in board units, 0..1) into strokes; `share(points)`
// sends each finished stroke, or a piece of a long one.
class Pen {
  constructor(share) {
    this.share = share;
    this.points = null;
  }

  down(p) { this.points = [p]; }

  move(p) {
    if (!this.points) return;
    const last = this.points[this.points.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) < MIN_STEP) return;
    this.points.push(p);
    if (this.points.length >= MAX_POINTS) { // share this piece, keep drawing from its end
      const piece = this.points;
      this.points = [p];
      this.share(piece);
    }
  }

  up() {
    if (!this.points) return;
    const done = this.points;
    this.points = null;
    this.share(done);
  }
}

module.exports = { Board, Pen, makeStroke, parseStroke };
