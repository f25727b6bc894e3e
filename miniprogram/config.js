// Where the mini program finds trtcd: the one setting to change.
//
// trtcdHost is the base URL of trtcd's HTTPS listener (`trtcd serve --https`):
// the components call https://HOST/v4/openim/jsonvideoapp and open
// wss://HOST/ws from it, so HOST must be in the mini program's request and
// socket domain lists (README.md). Plain http:// works in WeChat DevTools
// only, with "do not check domain names" (urlCheck) turned off.
//
// playProtocol picks how remote members are played: 'rtmp' (RspBody.PlayUrl,
// lowest latency, needs the RTMP port reachable) or 'flv' (RspBody.FlvUrl,
// HTTP-FLV on the HTTPS listener).
module.exports = {
  trtcdHost: 'https://trtcd.example.com',
  playProtocol: 'rtmp'
};
