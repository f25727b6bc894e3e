// TIC in the mini program (miniprogram/tic over wx.connectSocket), the
// calls and callbacks of a class's life the other scenarios leave out:
//   - a member quitting (quitClassroom) reaches the others as onTICMemberQuit;
//   - a removed message, event or status listener gets nothing more, while
//     the one still added does;
//   - logout leaves the class (the others see the quit) and closes the socket;
//   - the same user entering the class from a second TIC instance (another
//     phone) forces the first offline: onTICForceOffline;
//   - destroyClassroom ends the class for the members left:
//     onTICClassroomDestroy.
// Each TIC instance is a phone of its own: its own wx.connectSocket to trtcd.
const h = require('./harness.js');
const { createTIC } = require('../tic/tic.js');

const CLASS_ID = 7301;

// recorder is a listener that keeps what it was called with.
function recorder(names) {
  const calls = [];
  const l = { calls };
  names.forEach((name) => {
    l[name] = (...args) => calls.push({ name, args });
  });
  l.got = (name, pred) => calls.filter((c) => c.name === name && (!pred || pred(c.args)));
  return l;
}

const MESSAGE_CALLBACKS = ['onTICRecvGroupTextMessage', 'onTICRecvTextMessage', 'onTICRecvMessage'];
const EVENT_CALLBACKS = ['onTICMemberJoin', 'onTICMemberQuit', 'onTICClassroomDestroy'];
const STATUS_CALLBACKS = ['onTICForceOffline', 'onTICConnectionLost', 'onTICConnectionRestored', 'onTICConnectionFailed'];

// phone signs userId in on a TIC instance of its own, with one recorder of
// each kind added.
async function phone(userId) {
  const c = await h.credentials(userId, { roomId: CLASS_ID });
  const tic = createTIC({ url: h.env.http });
  const p = { userId, tic, message: recorder(MESSAGE_CALLBACKS), event: recorder(EVENT_CALLBACKS), status: recorder(STATUS_CALLBACKS) };
  tic.addTICMessageListener(p.message);
  tic.addTICEventListener(p.event);
  tic.addTICStatusListener(p.status);
  await tic.init(c.sdkAppId);
  await tic.login({ userId, userSig: c.userSig });
  return p;
}

// callback runs a TIC call the seed's way and resolves to its
// (module, code, desc).
function callback(call) {
  return new Promise((resolve) => call((module, code, desc) => resolve({ module, code, desc })));
}

function has(ids, userId) {
  return (ids || []).indexOf(userId) >= 0;
}

h.scenario('TIC: quit, logout, listeners removed, force offline, destroy', async () => {
  const teacher = await phone('ms-zhao');
  await teacher.tic.createClassroom(CLASS_ID);
  await teacher.tic.joinClassroom(CLASS_ID, {});
  const amy = await phone('amy');
  const ben = await phone('ben');
  await amy.tic.joinClassroom(CLASS_ID, {});
  await ben.tic.joinClassroom(CLASS_ID, {});
  await h.waitFor('the teacher to see amy and ben arrive', () =>
    teacher.event.got('onTICMemberJoin', (a) => has(a[0], 'amy'))[0] && teacher.event.got('onTICMemberJoin', (a) => has(a[0], 'ben'))[0]);

  // A member's userId is any string its app allows, __proto__ too: it is in
  // the others' member list like anyone, its mute state with it, and gone
  // from it when it leaves.
  const odd = await phone('__proto__');
  await odd.tic.joinClassroom(CLASS_ID, {});
  await odd.tic.getTrtcClient().request('mute', { audioMuted: true });
  const listed = () => teacher.tic.getTrtcClient().memberList().find((m) => m.userId === '__proto__');
  await h.waitFor("__proto__ muted in the teacher's member list", () => listed() && listed().audioMuted === true);
  await odd.tic.logout();
  await h.waitFor("__proto__ gone from the teacher's member list", () => !listed());
  h.check(({}).audioMuted === undefined, 'a member named __proto__ reached Object.prototype');
  console.log('a member named __proto__ came, muted and left in the member list like anyone');

  // quitClassroom: the caller leaves, the class goes on, and the others are
  // told through onTICMemberQuit.
  const quit = await callback((cb) => amy.tic.quitClassroom(cb));
  h.check(quit.code === 0, 'quitClassroom: ' + JSON.stringify(quit));
  await h.waitFor("the teacher's onTICMemberQuit for amy", () => teacher.event.got('onTICMemberQuit', (a) => has(a[0], 'amy'))[0]);
  await h.waitFor("ben's onTICMemberQuit for amy", () => ben.event.got('onTICMemberQuit', (a) => has(a[0], 'amy'))[0]);
  h.check(amy.tic.getClassInfo() === null, 'amy still has a class after quitClassroom');
  console.log('quitClassroom: amy left (0), the teacher and ben got onTICMemberQuit(["amy"])');

  // removeTICMessageListener: the removed one gets nothing more, the one
  // added after it gets the next message.
  await ben.tic.sendGroupTextMessage('before');
  await h.waitFor("the teacher's group text 'before'", () => teacher.message.got('onTICRecvGroupTextMessage', (a) => a[1] === 'before')[0]);
  const removedMessages = teacher.message;
  teacher.tic.removeTICMessageListener(removedMessages);
  teacher.message = recorder(MESSAGE_CALLBACKS);
  teacher.tic.addTICMessageListener(teacher.message);
  const seenBefore = removedMessages.calls.length;
  await ben.tic.sendGroupTextMessage('after');
  await ben.tic.sendTextMessage('ms-zhao', 'after, privately');
  await h.waitFor("the teacher's new listener to get 'after' and the C2C text", () =>
    teacher.message.got('onTICRecvGroupTextMessage', (a) => a[1] === 'after')[0] &&
    teacher.message.got('onTICRecvTextMessage', (a) => a[1] === 'after, privately')[0]);
  h.check(removedMessages.calls.length === seenBefore, 'the removed message listener got ' +
    JSON.stringify(removedMessages.calls.slice(seenBefore)));
  console.log('removeTICMessageListener: the removed listener got nothing of the next two messages, the new one both');

  // removeTICMessageListener() with no listener removes them all: the
  // teacher's TIC takes the next message in (its last seq reaches it), and
  // no listener hears of it.
  teacher.tic.removeTICMessageListener();
  const allBefore = teacher.message.calls.length;
  const sent = await ben.tic.sendGroupTextMessage('nobody listens');
  await h.waitFor("the teacher's TIC to take in seq " + sent.seq, () => teacher.tic.getLastSeq() >= sent.seq);
  h.check(teacher.message.calls.length === allBefore, 'removeTICMessageListener() left a listener: ' +
    JSON.stringify(teacher.message.calls.slice(allBefore)));
  console.log('removeTICMessageListener(): no listener got the message delivered meanwhile (seq ' + sent.seq + ')');

  // removeTICEventListener: amy comes back and quits again; only the
  // listener still added hears of it.
  const removedEvents = teacher.event;
  teacher.tic.removeTICEventListener(removedEvents);
  teacher.event = recorder(EVENT_CALLBACKS);
  teacher.tic.addTICEventListener(teacher.event);
  const eventsBefore = removedEvents.calls.length;
  await amy.tic.joinClassroom(CLASS_ID, {});
  await h.waitFor("the teacher's new event listener: amy back", () => teacher.event.got('onTICMemberJoin', (a) => has(a[0], 'amy'))[0]);

  // logout: amy leaves the class and her socket closes.
  const out = await callback((cb) => amy.tic.logout(cb));
  h.check(out.code === 0, 'logout: ' + JSON.stringify(out));
  await h.waitFor("the teacher's onTICMemberQuit for amy's logout", () => teacher.event.got('onTICMemberQuit', (a) => has(a[0], 'amy'))[0]);
  h.check(amy.tic.getTrtcClient() === null, 'amy still has a client after logout');
  h.check(removedEvents.calls.length === eventsBefore, 'the removed event listener got ' + JSON.stringify(removedEvents.calls.slice(eventsBefore)));
  const amyBack = await callback((cb) => amy.tic.sendGroupTextMessage('after logout', cb));
  h.check(amyBack.code !== 0, 'amy sent a message after logout: ' + JSON.stringify(amyBack));
  console.log('logout: 0, the teacher got onTICMemberQuit(["amy"]), amy has no client and cannot send (' + amyBack.code + ' ' + amyBack.desc + ')');
  console.log('removeTICEventListener: the removed listener got neither the join nor the quit');

  // onTICForceOffline: ben enters the class from a second phone. Of his
  // first phone's two status listeners, the removed one hears nothing.
  const removedStatus = ben.status;
  const kept = recorder(STATUS_CALLBACKS);
  ben.tic.addTICStatusListener(kept);
  ben.tic.removeTICStatusListener(removedStatus);
  const benAgain = await phone('ben');
  await benAgain.tic.joinClassroom(CLASS_ID, {});
  await h.waitFor("ben's first phone: onTICForceOffline", () => kept.got('onTICForceOffline')[0]);
  h.check(removedStatus.got('onTICForceOffline').length === 0, 'the removed status listener got onTICForceOffline');
  h.check(ben.tic.getClassInfo() === null, "ben's first phone is still in the class");
  h.check(!kept.got('onTICConnectionLost').length, "ben's first phone tried to reconnect after being forced offline");
  h.check(benAgain.status.calls.length === 0, "ben's second phone got " + JSON.stringify(benAgain.status.calls));
  console.log("onTICForceOffline: ben's first phone was forced offline by his second; removeTICStatusListener: the removed listener got nothing");

  // The class goes on with the second phone: the teacher's message reaches it.
  await teacher.tic.sendGroupTextMessage('still here?');
  await h.waitFor("ben's second phone to get the teacher's message", () =>
    benAgain.message.got('onTICRecvGroupTextMessage', (a) => a[0] === 'ms-zhao' && a[1] === 'still here?')[0]);
  h.check(!ben.message.got('onTICRecvGroupTextMessage', (a) => a[1] === 'still here?').length, "ben's first phone still gets the class's messages");

  // destroyClassroom: the members left get onTICClassroomDestroy.
  const destroyed = await callback((cb) => teacher.tic.destroyClassroom(CLASS_ID, cb));
  h.check(destroyed.code === 0, 'destroyClassroom: ' + JSON.stringify(destroyed));
  await h.waitFor("ben's onTICClassroomDestroy", () => benAgain.event.got('onTICClassroomDestroy')[0]);
  h.check(benAgain.tic.getClassInfo() === null, 'ben is still in a destroyed class');
  const rejoin = await callback((cb) => benAgain.tic.joinClassroom(CLASS_ID, {}, cb));
  h.check(rejoin.code !== 0, 'ben joined a destroyed class: ' + JSON.stringify(rejoin));
  console.log('destroyClassroom: 0, ben got onTICClassroomDestroy, and joining again fails (' + rejoin.code + ' ' + rejoin.desc + ')');
  await teacher.tic.logout();
  await benAgain.tic.logout();
});
