// The mini program: an index page that opens a 1v1 call (TAvKit's
// component) or a classroom (TIC, webrtc-room and a board). Where trtcd is
// lives in one place, config.js; the pages and components require it.
const config = require('./config.js');

App({
  globalData: {
    trtcdHost: config.trtcdHost
  },

  onLaunch() {
    if (/^https:\/\/trtcd\.example\.com/.test(config.trtcdHost)) {
      console.warn('config.js still points at trtcd.example.com: set trtcdHost to your trtcd (README.md)');
    }
  }
});
