// webrtc-room for trtcd: a drop-in for Tencent's component of the same name
// (same properties, methods and bindRoomEvent codes). Where Tencent's
// pushed to room:// URLs that only WeChat's native TRTC SDK understands,
// this one pushes RTMP to trtcd (the PushUrl of jsonvideoapp), plays each
// other member over RTMP or HTTP-FLV, and learns who is in the room from
// trtcd's /ws (the `follow` request).
const CONSTANT = require('../../constant.js');
const config = require('../../config.js');
const { requestRoomSig, playUrlFor, pushUrlFor } = require('./room-sig.js');
const { RoomFollower } = require('./room-follow.js');
const { pusherState, playerEvents, PERMISSION_ERRORS } = require('./state-codes.js');

const ROOM = CONSTANT.ROOM;
const PUSHER_ID = 'rtcpusher';
// 1v1 templates admit two members (trtcd's room-full code is 102052).
const ONE_TO_ONE_CAPACITY = 2;
const ROOM_FULL = 102052;
// A dropped /ws is followed again this many times, waiting 1 s, 2 s, 3 s.
const REFOLLOWS = 3;
const REFOLLOW_DELAY_MS = 1000;

// What a member's place shows after a player code: loading (2007 and the
// reconnect 2103: loadingImg), playing (2004: the picture), given up (-2301:
// no player, playerBackgroundImg).
const PLAYER_PLACE = {
  2007: { loading: true, playing: false },
  2103: { loading: true, playing: false },
  2004: { loading: false, playing: true },
  '-2301': { loading: false, playing: false, playUrl: '' }
};

// domId is a member's live-player id: user ids may hold characters a
// selector cannot.
function domId(userID) {
  return 'player-' + userID.replace(/[^A-Za-z0-9_-]/g, (c) => '_' + c.charCodeAt(0).toString(16));
}

Component({
  options: { multipleSlots: true },

  properties: {
    roomID: { type: Number, value: 0 },
    userID: { type: String, value: '' },
    userSig: { type: String, value: '' },
    sdkAppID: { type: Number, value: 0 },
    privateMapKey: { type: String, value: '' },
    template: { type: String, value: CONSTANT.TEMPLATE_TYPE.BIGSMALL },
    beauty: { type: Number, value: 5 },
    whiteness: { type: Number, value: 5 },
    aspect: { type: String, value: '3:4' },
    minBitrate: { type: Number, value: 400 },
    maxBitrate: { type: Number, value: 800 },
    muted: { type: Boolean, value: false },
    debug: { type: Boolean, value: false },
    enableCamera: { type: Boolean, value: true },
    smallViewLeft: { type: String, value: '1vw' },
    smallViewTop: { type: String, value: '1vw' },
    smallViewWidth: { type: String, value: '30vw' },
    smallViewHeight: { type: String, value: '40vw' },
    waitingImg: { type: String, value: '' },
    playerBackgroundImg: { type: String, value: '' },
    pusherBackgroundImg: { type: String, value: '' },
    loadingImg: { type: String, value: '' },
    pureAudioPushMod: { type: Number, value: 0 },
    recordId: { type: Number, value: 0 },
    // Accepted for compatibility: trtcd is always "the cloud", and IM is
    // TIC's (miniprogram/tic) over the same server.
    useCloud: { type: Boolean, value: true },
    enableIM: { type: Boolean, value: false }
  },

  data: {
    pushURL: '',
    members: [] // [{userID, domId, playUrl, audio, video, audioMuted, videoMuted, loading, playing}]
  },

  lifetimes: {
    detached() {
      this.exitRoom();
    }
  },

  observers: {
    'muted, enableCamera': function () {
      this.announceMute();
    }
  },

  methods: {
    // start asks trtcd for the room signature, follows the room, then
    // pushes; the others are played as they come.
    start() {
      this.exitRoom();
      // config is read once per start: a page may change it.
      const session = { joined: false, host: config.trtcdHost.replace(/\/+$/, ''), playProtocol: config.playProtocol };
      this.session = session;
      const d = this.data;
      this.log('start', d.userID, 'room', d.roomID, 'on', session.host);
      requestRoomSig({ host: session.host, sdkAppID: d.sdkAppID, userID: d.userID, userSig: d.userSig,
        roomID: d.roomID, privateMapKey: d.privateMapKey })
        .then((sig) => {
          if (this.session !== session) return;
          session.sig = sig;
          this.followRoom(session);
        }, (err) => {
          if (this.session === session) this.fail(ROOM.ERROR_REQUEST_ROOM_SIG, err);
        });
    },

    stop() {
      const wasIn = !!this.session;
      this.exitRoom();
      if (wasIn) this.post('event', ROOM.EXIT_ROOM, { reason: 'stop' });
    },

    pause() {
      this.contexts().forEach((c) => c.pause());
    },

    resume() {
      this.contexts().forEach((c) => c.resume());
    },

    switchCamera() {
      wx.createLivePusherContext(PUSHER_ID, this).switchCamera({});
    },

    contexts() {
      const players = this.data.members.filter((m) => m.playUrl).map((m) => wx.createLivePlayerContext(m.domId, this));
      return [wx.createLivePusherContext(PUSHER_ID, this)].concat(players);
    },

    // followRoom follows the room over /ws; the first reply decides
    // whether this member may enter and starts the push.
    followRoom(session) {
      const d = this.data;
      this.openFollower(session).then((others) => {
        if (this.session !== session) return;
        if (d.template.indexOf('1v1') === 0 && others.length >= ONE_TO_ONE_CAPACITY) {
          this.fail(ROOM.ERROR_EXCEEDS_THE_MAX_MEMBER, { errCode: ROOM_FULL,
            errMsg: 'the room already has ' + ONE_TO_ONE_CAPACITY + ' members, as many as ' + d.template + ' admits' });
          return;
        }
        others.forEach((m) => this.upsertMember(m));
        this.postMembers(others.map((m) => m.userId), []);
        this.setData({ pushURL: pushUrlFor(session.sig, d) });
      }, (err) => {
        if (this.session === session) this.fail(ROOM.ERROR_JOIN_ROOM, err);
      });
    },

    // openFollower resolves to the members other than this user.
    openFollower(session) {
      const d = this.data;
      const follower = new RoomFollower(session.host, {
        onEvent: (name, data) => this.session === session && this.onRoomEvent(name, data),
        onClose: (res) => this.session === session && this.refollow(session, res)
      });
      session.follower = follower;
      return follower.follow({ sdkAppId: d.sdkAppID, userId: d.userID, userSig: d.userSig, roomId: d.roomID,
        privateMapKey: d.privateMapKey })
        .then((reply) => (reply.members || []).filter((m) => m.userId !== d.userID));
    },

    // refollow: the socket dropped (a phone changing networks) while the
    // push and players go on reconnecting by themselves; follow again and
    // bring the member list up to date, a few times before giving up.
    refollow(session, res) {
      this.log('/ws closed', res.code, res.reason);
      session.refollows = (session.refollows || 0) + 1;
      if (session.refollows > REFOLLOWS) return;
      setTimeout(() => {
        if (this.session !== session) return;
        this.openFollower(session).then((others) => {
          if (this.session !== session) return;
          session.refollows = 0;
          const ids = others.map((m) => m.userId);
          const quit = this.data.members.map((m) => m.userID).filter((id) => ids.indexOf(id) < 0);
          const joined = ids.filter((id) => !this.member(id));
          this.setData({ members: this.data.members.filter((m) => quit.indexOf(m.userID) < 0) });
          others.forEach((m) => this.upsertMember(m));
          if (joined.length || quit.length) this.postMembers(joined, quit);
        }, (err) => this.log('following again failed:', err.errCode, err.errMsg));
      }, REFOLLOW_DELAY_MS * session.refollows);
    },

    // onRoomEvent applies /ws events (docs/protocol.md) to the member list.
    onRoomEvent(name, data) {
      const id = data.userId;
      if (id === this.data.userID && name !== 'room-closed') return;
      switch (name) {
        case 'member-join':
          if (!this.member(id)) {
            this.upsertMember({ userId: id });
            this.postMembers([id], []);
          }
          break;
        case 'member-quit':
          if (this.member(id)) {
            this.setData({ members: this.data.members.filter((m) => m.userID !== id) });
            this.postMembers([], [id]);
          }
          break;
        case 'stream-add':
        case 'stream-remove':
          this.upsertMember({ userId: id, [data.kind]: name === 'stream-add' });
          break;
        case 'mute': // the list comes again with the member's new state
          if (this.member(id)) {
            this.upsertMember(data);
            this.postMembers([], []);
          }
          break;
        case 'player-disconnect': // the member's heartbeats stopped
          this.post('event', ROOM.PLAYER_DISCONNECT, { userID: id, errMsg: 'the member stopped answering' });
          break;
        case 'room-closed':
          this.exitRoom();
          this.post('event', ROOM.EXIT_ROOM, { reason: 'room-closed' });
          break;
      }
    },

    member(userID) {
      return this.data.members.find((m) => m.userID === userID);
    },

    // upsertMember adds a member or updates its flags; a member whose
    // player gave up (-2301) is played again when it publishes again.
    upsertMember(info) {
      const session = this.session;
      const members = this.data.members.slice();
      let i = members.findIndex((m) => m.userID === info.userId);
      if (i < 0) {
        members.push({ userID: info.userId, domId: domId(info.userId), playUrl: '', audio: false, video: false,
          audioMuted: false, videoMuted: false, loading: false, playing: false });
        i = members.length - 1;
      }
      const m = Object.assign({}, members[i]);
      ['audio', 'video', 'audioMuted', 'videoMuted'].forEach((k) => {
        if (typeof info[k] === 'boolean') m[k] = info[k];
      });
      if (!m.playUrl) m.playUrl = playUrlFor(session.sig, session.playProtocol, m.userID);
      members[i] = m;
      this.setData({ members });
    },

    postMembers(joined, quit) {
      const members = this.data.members.map((m) => ({ userID: m.userID, playUrl: m.playUrl, audio: m.audio, video: m.video,
        audioMuted: m.audioMuted, videoMuted: m.videoMuted }));
      this.post('event', ROOM.SUCC_MEMBERS_LIST, { members, joined, quit });
    },

    onPusherStateChange(e) {
      const session = this.session;
      if (!session) return;
      const code = e.detail.code;
      const state = pusherState(code);
      const detail = { userID: this.data.userID, errCode: code, errMsg: e.detail.message || '' };
      this.log('pusher', code, detail.errMsg);
      state.events.forEach((event) => {
        this.post(event < 0 ? 'error' : 'event', event, detail);
        if (event === ROOM.SUCC_PUSH && !session.joined) {
          // trtcd admits the pusher as a member before it answers the publish.
          session.joined = true;
          this.post('event', ROOM.SUCC_JOIN_ROOM, detail);
          if (this.data.muted || !this.data.enableCamera) this.announceMute();
        }
      });
      if (code === -1307) {
        // The push is gone for good; the others may still be there, so the
        // players go on until they fail themselves or the page calls stop().
        this.setData({ pushURL: '' });
      } else if (state.fatal) {
        this.exitRoom();
      }
    },

    onPusherError(e) {
      const detail = e.detail || {};
      if (PERMISSION_ERRORS.indexOf(detail.errCode) >= 0) {
        this.post('error', ROOM.ERROR_CAMERA_MIC_PERMISSION, { errCode: detail.errCode, errMsg: detail.errMsg || '' });
      }
    },

    onPlayerStateChange(e) {
      const userID = e.currentTarget.dataset.userId;
      const code = e.detail.code;
      this.log('player', userID, code, e.detail.message || '');
      // The member's place shows loadingImg while its player loads and
      // playerBackgroundImg until it plays (or after it gave up), as
      // Tencent's component does; set before the events, so a page that
      // gets PLAYER_LOADING already has the loading image drawn.
      const shown = PLAYER_PLACE[code];
      if (shown && this.member(userID)) {
        this.setData({ members: this.data.members.map((m) => (m.userID === userID ? Object.assign({}, m, shown) : m)) });
      }
      playerEvents(code).forEach((event) => {
        this.post('event', event, { userID, errCode: code, errMsg: e.detail.message || '' });
      });
    },

    // announceMute tells the others that this member's microphone or
    // camera is off (their /ws `mute` event): the pusher itself only
    // sends silence or no picture.
    announceMute() {
      const session = this.session;
      if (!session || !session.joined || !session.follower) return;
      session.follower.request('mute', { audioMuted: this.data.muted, videoMuted: !this.data.enableCamera })
        .catch((err) => this.log('mute not announced:', err.errCode, err.errMsg));
    },

    // fail reports an error that ends this start().
    fail(code, err) {
      this.exitRoom();
      this.post('error', code, { errCode: err.errCode, errMsg: err.errMsg });
    },

    // exitRoom stops the push, the players and the /ws follow, silently.
    exitRoom() {
      const session = this.session;
      if (!session) return;
      this.session = null;
      if (session.follower) session.follower.close();
      this.setData({ pushURL: '', members: [] });
    },

    // post raises bindRoomEvent as Tencent's component does: {tag, code, detail}.
    post(tag, code, detail) {
      this.log('RoomEvent', tag, code, JSON.stringify(detail));
      this.triggerEvent('RoomEvent', { tag, code, detail }, {});
    },

    log() {
      if (this.data.debug) console.log.apply(console, ['[webrtc-room]'].concat(Array.prototype.slice.call(arguments)));
    }
  }
});
