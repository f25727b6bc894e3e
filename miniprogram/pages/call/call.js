// The 1v1 call page: TAvKit's component, started as the seed's demo starts
// it (onLoad → start(options) with the five listeners).
//
//   pages/call/call?roomId=4321&userId=alice[&userSig=…&sdkAppId=…][&privateMapKey=…]
//
// Without a userSig the page asks a development trtcd (GET /dev/usersig);
// a real mini program gets userSig (and privateMapKey) from its backend.
//
// Built with Component(), as WeChat allows for pages, so that the component
// simulator can load it (miniprogram/test/).
const config = require('../../config.js');

Component({
  data: {
    ended: false,
    endedTitle: '',
    endedText: '',
  },

  lifetimes: {
    created() {
      this.heard = []; // every listener call, in order: [name, ...args] (for tests and debugging)
    },
  },

  methods: {
    onLoad(query) {
      const q = query || {};
      const userId = q.userId || 'caller-' + Math.random().toString(36).slice(2, 6);
      const creds = q.userSig ? Promise.resolve({ sdkAppId: Number(q.sdkAppId), userId, userSig: q.userSig })
        : devCredentials(userId);
      creds.then((c) => this.startCall(c, q), (err) => this.end('Cannot start the call', err.errorMsg));
    },

    onUnload() {
      const tavkit = this.selectComponent('#tAvKitComponent');
      if (tavkit) tavkit.stop();
    },

    startCall(creds, q) {
      const page = this;
      this.selectComponent('#tAvKitComponent').start({
        userId: creds.userId,
        userSig: creds.userSig,
        sdkAppId: creds.sdkAppId,
        roomId: Number(q.roomId),
        privateMapKey: q.privateMapKey || '',
        listener: {
          // A real app looks the ids up in its own user directory.
          onUserInfoListener(userIds, callback) {
            page.heard.push(['onUserInfoListener', userIds]);
            callback(userIds.map(id => ({ userId: id, userName: id, avatarUrl: '' })));
          },
          onSwitchCameraListener(front) { page.heard.push(['onSwitchCameraListener', front]); },
          onMutedListener(muted) { page.heard.push(['onMutedListener', muted]); },
          onRemoteMutedListener(userId, muted) { page.heard.push(['onRemoteMutedListener', userId, muted]); },
          onHandupListener(who) {
            page.heard.push(['onHandupListener', who]);
            page.end('Call ended', who && who.remote ? who.userId + ' hung up.' : 'You hung up.');
          },
          onErrorListener(err) {
            page.heard.push(['onErrorListener', err]);
            page.end('The call failed', err.module + ' ' + err.errorCode + ': ' + err.errorMsg);
          },
        },
      });
    },

    end(title, text) {
      this.setData({ ended: true, endedTitle: title, endedText: text || '' });
    },

    onBack() {
      wx.navigateBack({ fail: () => wx.reLaunch({ url: '/pages/index/index' }) });
    },
  },
});

// devCredentials asks a development trtcd for a userSig of its development
// app. It rejects with a TAvKit-style error ({module, errorCode, errorMsg}).
function devCredentials(userId) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: config.trtcdHost + '/dev/usersig?userId=' + encodeURIComponent(userId),
      success: (res) => (res.statusCode === 200 ? resolve(res.data) : reject({ module: 'server', errorCode: (res.data && res.data.code) || res.statusCode,
        errorMsg: (res.data && res.data.message) || 'no userSig: pass userSig and sdkAppId in the page query' })),
      fail: (err) => reject({ module: 'http', errorCode: 10000, errorMsg: 'cannot reach ' + config.trtcdHost + ': ' + (err && err.errMsg) }),
    });
  });
}
