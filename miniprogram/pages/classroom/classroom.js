// The classroom page: TIC on trtcd in a mini program. The class's video is
// webrtc-room (this user's RTMP push, a player per member), the chat and
// the whiteboard are TIC (miniprogram/tic): board strokes are TIC board data,
// group custom messages that late joiners replay from the class history,
// as on the browser's classroom page (web/static/classroom.html), with whom
// the class is shared.
//
//   pages/classroom/classroom?classId=3101&userId=tom[&userSig=…&sdkAppId=…][&privateMapKey=…][&role=teacher][&media=0]
//
// Without a userSig the page asks a development trtcd (GET /dev/usersig).
// The privateMapKey, when the app uses them, opens both the class and its
// room's media.
// media=0 joins without camera and microphone (chat and board only).
//
// Built with Component(), as WeChat allows for pages, so that the component
// simulator can load it (miniprogram/test/).
const config = require('../../config.js');
const { createTIC, TICModule } = require('../../tic/tic.js');
const { Board, Pen, makeStroke } = require('./board.js');

const CLASS_NOT_FOUND = 10010;
const CLASS_EXISTS = 10021;
const JOIN_RETRY_MS = 3000; // how often a student checks whether the class has opened
const MAX_CHAT = 200; // messages kept on screen
const COLORS = ['#1f2933', '#e5484d', '#2f7cf6', '#30a46c', '#f5a623'];
const MODULE_NAMES = { [TICModule.IM]: 'IM', [TICModule.TRTC]: 'TRTC', [TICModule.BOARD]: 'Board' };

Component({
  data: {
    phase: 'loading', // loading → (waiting →) class → ended
    endedText: '',
    classId: 0,
    userId: '',
    role: 'student',
    creator: '',
    media: true,
    askMedia: false, // in the class, the camera waits for a tap (onStartMedia)
    mediaOn: false, // webrtc-room is on the page
    room: {}, // webrtc-room's properties
    members: [], // the others in the class
    messages: [], // [{id, from, text, mine, private, custom}]
    draft: '',
    to: '', // '' for the class, a userId for a private message
    strokes: 0,
    colors: COLORS,
    color: COLORS[1],
    error: '',
  },

  lifetimes: {
    created() {
      this.board = new Board((count) => { if (count !== this.data.strokes) this.setData({ strokes: count }); });
      this.pen = new Pen((points) => this.draw(points).catch(() => {}));
      this.gone = false;
    },
  },

  methods: {
    onLoad(query) {
      const q = query || {};
      this.setData({
        classId: Number(q.classId) || 0,
        userId: q.userId || 'student-' + Math.random().toString(36).slice(2, 6),
        role: q.role === 'teacher' ? 'teacher' : 'student',
        media: q.media !== '0',
      });
      this.enter(q).catch(err => this.showError(err));
    },

    onReady() {
      this.attachCanvas();
    },

    onUnload() {
      this.gone = true;
      this.stopMedia();
      if (this.tic) this.tic.logout().catch(() => {});
    },

    // --- entering ---

    async enter(q) {
      const creds = q.userSig ? { sdkAppId: Number(q.sdkAppId), userId: this.data.userId, userSig: q.userSig }
        : await devCredentials(this.data.userId);
      this.creds = Object.assign({ privateMapKey: q.privateMapKey || '' }, creds);
      const tic = this.setUpTIC();
      await tic.init(creds.sdkAppId);
      await tic.login({ userId: creds.userId, userSig: creds.userSig });
      if (this.data.role === 'teacher') {
        await tic.createClassroom(this.data.classId).catch(err => { if (err.code !== CLASS_EXISTS) throw err; });
      }
      const info = await this.joinWhenOpen(tic);
      if (!info) return;
      if (this.data.role === 'teacher' && info.creator !== creds.userId) return this.classTaken(info.creator);
      this.entered(info);
    },

    // classTaken: a teacher found the class id taken by someone else (who
    // created it first). Entering would make them a student in a
    // stranger's class, seen and heard by its owner; the join reply is the
    // only place that names the creator, so the class is left at once,
    // before the camera starts.
    async classTaken(creator) {
      await this.tic.quitClassroom().catch(() => {});
      const text = 'Class ' + this.data.classId + ' already exists and belongs to ' + creator + ' — pick another class id.';
      this.setData({ phase: 'ended', endedText: text, messages: [], members: [] }); // the replayed chat was theirs
      this.showError({ code: CLASS_EXISTS, module: TICModule.IM, reason: text });
    },

    setUpTIC() {
      const tic = createTIC({ url: config.trtcdHost });
      this.tic = tic;
      tic.setBoard(this.board);
      tic.addTICMessageListener({
        onTICRecvTextMessage: (from, text) => this.addChat({ from, text, private: true }),
        onTICRecvCustomMessage: (from, data) => this.addChat({ from, text: data, private: true, custom: true }),
        // Group messages come through here with the ones this user sent
        // from an earlier visit (a replay shows them too).
        onTICRecvMessage: (msg) => {
          if (!msg.seq) return;
          this.addChat({ from: msg.from, text: msg.type === 'text' ? msg.text : msg.data, mine: msg.from === this.data.userId,
            custom: msg.type !== 'text' });
        },
      });
      tic.addTICEventListener({
        onTICMemberJoin: (ids) => this.setMembers(this.data.members.concat(ids)),
        onTICMemberQuit: (ids) => this.setMembers(this.data.members.filter(id => ids.indexOf(id) < 0)),
        onTICClassroomDestroy: () => this.classEnded('The teacher ended the class.'),
      });
      tic.addTICStatusListener({
        onTICForceOffline: () => this.classEnded('Your account entered the class somewhere else.'),
        onTICConnectionFailed: (code, desc) => this.classEnded('The connection was lost (' + code + ' ' + desc + ').'),
      });
      return tic;
    },

    // joinWhenOpen joins; a student who comes before the teacher waits and
    // tries again until the class opens. With the camera on, this user's
    // member is webrtc-room's RTMP pusher, so the TIC connection follows the
    // class instead of being a second member with the same userId.
    async joinWhenOpen(tic) {
      const params = { classId: this.data.classId, privateMapKey: this.creds.privateMapKey };
      if (this.data.media) params.follow = true;
      for (;;) {
        try {
          return await tic.joinClassroom(params, { brushColor: this.data.color, brushThin: this.board.width });
        } catch (err) {
          if (err.code !== CLASS_NOT_FOUND || this.data.role === 'teacher' || this.gone) throw err;
          this.setData({ phase: 'waiting' });
          await new Promise(r => setTimeout(r, JOIN_RETRY_MS));
          if (this.gone) return null;
        }
      }
    },

    entered(info) {
      this.setData({ phase: 'class', creator: info.creator });
      this.setMembers((info.members || []).map(m => m.userId));
      if (this.data.media && !info.following) {
        // A trtcd that cannot follow a class made this connection the
        // member: a pusher with the same userId would force it offline.
        this.setData({ media: false });
        this.showError({ reason: 'this trtcd cannot follow a class (joinClassroom follow): the camera stays off' });
      }
      // The camera and microphone wait for the person's tap: a link that
      // carries someone's credentials would otherwise broadcast whoever
      // opens it into that someone's class.
      if (this.data.media) this.setData({ askMedia: true });
    },

    onStartMedia() {
      this.setData({ askMedia: false });
      this.startMedia();
    },

    startMedia() {
      const c = this.creds;
      this.setData({
        mediaOn: true,
        room: { roomID: this.data.classId, userID: c.userId, userSig: c.userSig, sdkAppID: c.sdkAppId, privateMapKey: c.privateMapKey },
      }, () => {
        const room = this.selectComponent('#webrtcroom');
        if (room) room.start();
      });
    },

    stopMedia() {
      if (!this.data.mediaOn) return;
      const room = this.selectComponent('#webrtcroom');
      if (room) room.stop();
    },

    onRoomEvent(e) {
      const { tag, code, detail } = e.detail || {};
      if (tag === 'error') this.showError({ code: (detail && detail.errCode) || code, reason: (detail && detail.errMsg) || 'camera or connection' });
    },

    classEnded(text) {
      this.stopMedia();
      this.setData({ phase: 'ended', endedText: text, mediaOn: false, members: [] });
    },

    setMembers(ids) {
      const me = this.data.userId;
      const members = ids.filter((id, i) => id !== me && ids.indexOf(id) === i);
      const to = members.indexOf(this.data.to) >= 0 ? this.data.to : '';
      this.setData({ members, to });
    },

    // --- chat ---

    addChat(m) {
      const messages = this.data.messages.concat([Object.assign({ id: String(Date.now()) + Math.random() }, m)]);
      this.setData({ messages: messages.slice(-MAX_CHAT) });
    },

    onDraftInput(e) {
      this.setData({ draft: e.detail.value });
    },

    // A member's chip picks the receiver of a private message; tapped again
    // the message goes to the class.
    onPickReceiver(e) {
      const id = e.currentTarget.dataset.userId;
      this.setData({ to: this.data.to === id ? '' : id });
    },

    async onSend() {
      const text = this.data.draft.trim();
      const to = this.data.to;
      if (!text || this.data.phase !== 'class') return;
      this.setData({ draft: '' });
      try {
        if (to) await this.tic.sendTextMessage(to, text);
        else await this.tic.sendGroupTextMessage(text);
        this.addChat({ from: this.data.userId, text, mine: true, private: !!to, to });
      } catch (err) {
        this.setData({ draft: text }); // nothing lost: try again
        this.showError(err);
      }
    },

    // --- the board ---

    attachCanvas() {
      this.createSelectorQuery().select('#board').fields({ node: true, size: true }).exec((res) => {
        const r = res && res[0];
        this.boardSize = r && r.width ? { width: r.width, height: r.height } : null;
        if (!r || !r.node) return; // no canvas (the simulator): the board keeps its data
        const dpr = wx.getSystemInfoSync().pixelRatio || 1;
        r.node.width = r.width * dpr;
        r.node.height = r.height * dpr;
        this.board.attach(r.node.getContext('2d'), r.node.width, r.node.height);
      });
    },

    onPickColor(e) {
      this.board.color = e.currentTarget.dataset.color;
      this.setData({ color: this.board.color });
    },

    // Touches on the canvas in board units (0..1).
    touchPoint(e) {
      const t = (e.touches && e.touches[0]) || (e.changedTouches && e.changedTouches[0]);
      const s = this.boardSize;
      if (!t || !s) return null;
      return [t.x / s.width, t.y / s.height];
    },

    onBoardTouchStart(e) {
      const p = this.touchPoint(e);
      if (p && this.data.phase === 'class' && this.board.option.drawEnable !== false) this.pen.down(p);
    },

    onBoardTouchMove(e) {
      const p = this.touchPoint(e);
      if (p) this.pen.move(p);
    },

    onBoardTouchEnd() {
      this.pen.up();
    },

    // draw shares one stroke: the board paints it, the class receives it.
    // Resolves with the stroke's class seq.
    draw(points, color, width) {
      const stroke = makeStroke(points, color || this.board.color, width || this.board.width);
      const mine = this.board.addOwn(stroke);
      return this.tic.sendBoardData(JSON.stringify(stroke)).then((reply) => {
        mine.confirm(reply.seq);
        return reply.seq;
      }, (err) => {
        mine.discard();
        this.showError(err);
        throw err;
      });
    },

    showError(err) {
      const module = MODULE_NAMES[err.module];
      const text = (err.code ? 'Error ' + err.code + (module ? ' · ' + module : '') + ': ' : '') + (err.reason || err.message || String(err));
      this.setData({ error: text });
    },

    onDismissError() {
      this.setData({ error: '' });
    },
  },
});

// devCredentials asks a development trtcd for a userSig of its development
// app; a real mini program gets them from its own backend.
function devCredentials(userId) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: config.trtcdHost + '/dev/usersig?userId=' + encodeURIComponent(userId),
      success: (res) => (res.statusCode === 200 ? resolve(res.data) : reject({ code: (res.data && res.data.code) || res.statusCode,
        reason: (res.data && res.data.message) || 'no userSig: pass userSig and sdkAppId in the page query' })),
      fail: (err) => reject({ code: 0, reason: 'cannot reach ' + config.trtcdHost + ': ' + (err && err.errMsg) }),
    });
  });
}
