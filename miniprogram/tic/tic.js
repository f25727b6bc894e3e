// trtcd TIC SDK for mini programs: Tencent's interactive-classroom API
// (TIC) on trtcd's /ws protocol (docs/classroom.md), over wx.connectSocket.
//
//   const { createTIC } = require('../../tic/tic.js');
//   const tic = createTIC({ url: config.trtcdHost });  // https://HOST or wss://HOST/ws
//   tic.init(sdkAppId, (module, code, desc) => { … });
//   tic.setBoard(board);                               // gets TXWhiteBoardExt data
//   tic.addTICMessageListener({ onTICRecvGroupTextMessage(from, text) { … } });
//   tic.login({ userId, userSig }, cb);
//   tic.joinClassroom(classId, { brushColor: '#ff0000' }, cb);
//
// The calls, callbacks and listeners are the seed's and /sdk/tic.js's
// (web/static/sdk/tic.d.ts documents them): every call takes TIC's callback
// `cb(module, code, desc)` and also returns a Promise. Audio and video are
// the webrtc-room component's, not TIC's: publishLocalStream rejects here.
//
// TIC itself is ./tic-core.js, the one core, which trtcd also serves to
// browsers as /sdk/tic-core.js; this module only gives it its transport.
const core = require('./tic-core.js');
const transport = require('./signal-client.js');

const wxTransport = Object.freeze({
  createClient: options => new transport.SignalClient(options),
  isOpen: client => client.isOpen(),
  TrtcdError: transport.TrtcdError,
  ErrorCode: transport.ErrorCode,
  randomId: newMessageId,
});

/** Creates a TIC instance; `url` is the trtcd host (https://HOST) or its wss://HOST/ws. */
function createTIC(options) {
  const o = Object.assign({}, options);
  if (o.url) o.url = transport.socketUrl(o.url);
  return core.createTIC(wxTransport, o);
}

// 24 hex digits, unique enough per sender: wx.getRandomValues is
// asynchronous, and a message id needs no secrecy.
function newMessageId() {
  let s = '';
  for (let i = 0; i < 24; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

module.exports = {
  createTIC,
  TICModule: core.TICModule,
  BOARD_EXT: core.BOARD_EXT,
  TrtcdError: transport.TrtcdError,
  ErrorCode: transport.ErrorCode,
};
