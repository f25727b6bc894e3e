// The room signature: the one HTTP call Tencent's webrtc-room makes before
// it pushes (jsonvideoapp). trtcd answers it with the URLs to push to and
// to play the others from (docs/miniprogram.md).

// Where a failure came from: the server refused (its code is the seed's:
// 80, 86, 87, 70346, 10002–10004 …), or no answer came at all.
const TRANSPORT_FAILED = -1;

function queryString(params) {
  return Object.keys(params)
    .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(params[k]))
    .join('&');
}

// requestRoomSig resolves to RspBody ({PushUrl, PlayUrl, FlvUrl, …}) or
// rejects with {errCode, errMsg}.
function requestRoomSig({ host, sdkAppID, userID, userSig, roomID, privateMapKey }) {
  const url = host + '/v4/openim/jsonvideoapp?' + queryString({
    sdkappid: sdkAppID, identifier: userID, usersig: userSig,
    random: Math.floor(Math.random() * 1e9), contenttype: 'json'
  });
  const body = {
    ReqHead: { Cmd: 1, SeqNo: 1, BusType: 7, GroupId: roomID },
    ReqBody: { PrivMapEncrypt: privateMapKey || '', TerminalType: 1, FromType: 3, SdkVersion: 26280566 }
  };
  return new Promise((resolve, reject) => {
    wx.request({
      url,
      method: 'POST',
      data: body,
      header: { 'content-type': 'application/json' },
      success(res) {
        const d = res.data || {};
        const head = d.RspHead || {};
        const code = d.ErrorCode || head.ErrorCode || 0;
        if (code === 0 && res.statusCode === 200 && d.RspBody) {
          resolve(d.RspBody);
          return;
        }
        reject({
          errCode: code || TRANSPORT_FAILED,
          errMsg: d.ErrorInfo || head.ErrorInfo || ('HTTP ' + res.statusCode)
        });
      },
      fail(err) {
        reject({ errCode: TRANSPORT_FAILED, errMsg: (err && err.errMsg) || 'request failed' });
      }
    });
  });
}

// playUrlFor fills a member's id into RspBody's PlayUrl (RTMP) or FlvUrl.
function playUrlFor(sig, protocol, userID) {
  const template = protocol === 'flv' ? sig.FlvUrl : sig.PlayUrl;
  return template.replace('{userId}', encodeURIComponent(userID));
}

// pushUrlFor adds what Tencent's component put into its bizbuf.
function pushUrlFor(sig, { recordId, pureAudioPushMod, template }) {
  let url = sig.PushUrl;
  // A room the push creates takes its capacity from the template (two in
  // 1v1 ones), as a /ws member's join would.
  if (template) url += '&template=' + encodeURIComponent(template);
  if (recordId) url += '&recordid=' + encodeURIComponent(recordId);
  if (pureAudioPushMod) url += '&pureaudiomode=' + pureAudioPushMod;
  return url;
}

module.exports = { requestRoomSig, playUrlFor, pushUrlFor, TRANSPORT_FAILED };
