// tavkit-component for trtcd: a drop-in for TAvKit's 1v1 call component
// (seed 004). The page calls start(options) once; the component runs the
// call on the webrtc-room component (a child: RTMP push to trtcd, one
// player for the other person, the room's members over /ws) and draws the
// seed's three buttons: hang up, mute, switch camera.
//
// Listeners (all optional), as the seed defines them:
//   onUserInfoListener(userIds, callback)  the other person entered; give
//     callback([{userId, userName, avatarUrl}]) and the call shows them
//   onSwitchCameraListener(front)  the switch-camera button was pressed
//   onMutedListener(muted)         the mute button was pressed: this user's
//     own microphone (the seed: "是否静自己的音"); a peer's mute reaches
//     this side as the peer's muted badge and onRemoteMutedListener
//   onHandupListener({userId, remote})  the call ended by a hang-up: this
//     user's button (remote false) or the other person's (remote true: the
//     peer left the room)
//   onErrorListener({module, errorCode, errorMsg})  module avkit, trtc,
//     server or http with the seed's codes (tavkit-errors.js)
// and trtcd's extension:
//   onRemoteMutedListener(userId, muted)  the other person muted or
//     unmuted its microphone
const CONSTANT = require('../../constant.js');
const errors = require('./tavkit-errors.js');

const ROOM = CONSTANT.ROOM;

// The errors after which webrtc-room has left the room: the call is over.
const ENDS_CALL = [ROOM.ERROR_REQUEST_ROOM_SIG, ROOM.ERROR_JOIN_ROOM, ROOM.ERROR_EXCEEDS_THE_MAX_MEMBER,
  ROOM.ERROR_OPEN_CAMERA, ROOM.ERROR_OPEN_MIC];

const STATUS_TEXT = {
  idle: '',
  waiting: 'Waiting for the other person…',
  talking: '',
  ended: 'Call ended',
};

Component({
  data: {
    started: false, // webrtc-room is on the page
    roomId: 0,
    userId: '',
    userSig: '',
    sdkAppId: 0,
    privateMapKey: '',
    muted: false,
    frontCamera: true,
    peers: [], // [{userId, userName, avatarUrl, audioMuted}]
    state: 'idle', // idle → waiting → talking → ended
    statusText: '',
    lastError: null, // the last {module, errorCode, errorMsg}, shown and kept for tests
  },

  lifetimes: {
    created() {
      this.listener = {};
    },
    detached() {
      this.stop();
    },
  },

  methods: {
    /** The seed's entry point: {userId, userSig, sdkAppId, roomId, privateMapKey?, listener?}. */
    start(options) {
      const o = options || {};
      this.listener = o.listener || {};
      const missing = errors.missingOption(o);
      if (missing) return this.reportError(missing);
      if (typeof wx.canIUse === 'function' && !wx.canIUse('live-pusher')) {
        return this.reportError(errors.error(errors.MODULE.AVKIT, errors.AVKIT.NO_PERMISSION,
          'this mini program may not use live-pusher (WeChat: Development → Interface settings)'));
      }
      this.setData({
        started: true, roomId: Number(o.roomId), userId: String(o.userId), userSig: String(o.userSig),
        sdkAppId: Number(o.sdkAppId), privateMapKey: o.privateMapKey || '',
        muted: false, frontCamera: true, peers: [], lastError: null,
      }, () => {
        this.setState('waiting');
        this.room().start();
      });
    },

    /** Ends the call without calling onHandupListener (the page is closing). */
    stop() {
      if (!this.data.started) return;
      const room = this.room();
      if (room) room.stop();
      this.setData({ started: false, peers: [] });
      this.setState('ended');
    },

    room() {
      return this.selectComponent('#webrtcroom');
    },

    // --- the buttons ---

    onHandupTap() {
      if (this.data.state === 'ended' || this.data.state === 'idle') return;
      this.stop();
      this.call('onHandupListener', { userId: this.data.userId, remote: false });
    },

    onMuteTap() {
      const muted = !this.data.muted;
      this.setData({ muted }); // webrtc-room's `muted`: the pusher stops sending sound
      this.call('onMutedListener', muted);
    },

    onSwitchCameraTap() {
      if (!this.data.started) return;
      const front = !this.data.frontCamera;
      this.room().switchCamera();
      this.setData({ frontCamera: front });
      this.call('onSwitchCameraListener', front);
    },

    // --- webrtc-room's events ---

    onRoomEvent(e) {
      const { tag, code, detail } = e.detail || {};
      if (tag === 'error') return this.onRoomError(code, detail || {});
      switch (code) {
        case ROOM.SUCC_MEMBERS_LIST:
          this.membersChanged(detail || {});
          break;
        case ROOM.EXIT_ROOM:
          this.roomExited(detail || {});
          break;
      }
    },

    onRoomError(code, detail) {
      if (ENDS_CALL.indexOf(code) >= 0) this.stop();
      const err = errors.fromRoomEvent(code, detail);
      if (err) this.reportError(err);
    },

    // membersChanged: in a 1v1 call a member who comes is the other person,
    // one who goes has hung up (or was lost): the call is over. The list
    // comes again when a member's mute changes (the /ws `mute` event).
    membersChanged({ members, joined, quit }) {
      const known = this.data.peers.map(p => p.userId);
      const newcomers = (joined || []).filter(id => id !== this.data.userId && known.indexOf(id) < 0);
      const gone = (quit || []).filter(id => known.indexOf(id) >= 0);
      if (newcomers.length) {
        const peers = this.data.peers.concat(newcomers.map(id => ({ userId: id, userName: id, avatarUrl: '', audioMuted: false })));
        this.setData({ peers });
        this.setState('talking');
        this.askUserInfo(newcomers);
      }
      if (gone.length) {
        this.setData({ peers: this.data.peers.filter(p => gone.indexOf(p.userId) < 0) });
        if (this.data.peers.length === 0 && this.data.state === 'talking') {
          this.stop();
          this.call('onHandupListener', { userId: gone[0], remote: true });
        }
      }
      (members || []).forEach(m => this.peerMuted(m));
    },

    // askUserInfo lets the page name the newcomers: the seed's callback takes
    // [{userId, userName, avatarUrl}], any of them, any time.
    askUserInfo(userIds) {
      this.call('onUserInfoListener', userIds.slice(), (infos) => {
        const byId = new Map(); // userIds are the peers' to choose: __proto__ too
        (Array.isArray(infos) ? infos : [infos]).forEach(i => { if (i && i.userId) byId.set(i.userId, i); });
        const peers = this.data.peers.map(p => {
          const i = byId.get(p.userId);
          return i ? Object.assign({}, p, { userName: i.userName || p.userName, avatarUrl: i.avatarUrl || p.avatarUrl }) : p;
        });
        this.setData({ peers });
      });
    },

    // peerMuted follows the other person's microphone from the member list.
    peerMuted({ userID, audioMuted }) {
      if (typeof audioMuted !== 'boolean') return;
      const peer = this.data.peers.find(p => p.userId === userID);
      if (!peer || peer.audioMuted === audioMuted) return;
      this.setData({ peers: this.data.peers.map(p => (p.userId === userID ? Object.assign({}, p, { audioMuted }) : p)) });
      this.call('onRemoteMutedListener', userID, audioMuted);
    },

    // roomExited: webrtc-room left the room on its own (not our stop()):
    // the server closed the room, or WeChat stopped the pusher (5000).
    roomExited(detail) {
      if (detail.reason === 'stop' || !this.data.started) return;
      const code = detail.errCode === errors.TRTC.CALL_EXITED ? errors.TRTC.CALL_EXITED : errors.TRTC.ENTER_OR_EXIT_ROOM;
      this.stop();
      this.reportError(errors.error(errors.MODULE.TRTC, code, detail.errMsg || 'the call was ended: ' + (detail.reason || 'exit')));
    },

    // --- helpers ---

    reportError(err) {
      this.setData({ lastError: err, statusText: err.errorMsg });
      this.call('onErrorListener', err);
    },

    setState(state) {
      this.setData({ state, statusText: STATUS_TEXT[state] });
    },

    // call runs one of the page's listeners; a throwing listener must not
    // break the call.
    call(name) {
      const fn = this.listener && this.listener[name];
      if (typeof fn !== 'function') return;
      try {
        fn.apply(this.listener, Array.prototype.slice.call(arguments, 1));
      } catch (e) {
        console.error('tavkit-component: ' + name, e);
      }
    },
  },
});
