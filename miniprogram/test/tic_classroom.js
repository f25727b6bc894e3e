// (d) TIC: a mini-program student (the classroom page, pages/classroom, on
// miniprogram/tic) in the class of a browser teacher (Chromium on
// web/static/classroom.html, driven by e2e/miniprogram_tic_test.go).
//
// The teacher has drawn on the board and greeted the class before the
// student comes. The student's board must replay the class history into
// exactly the board data the teacher's strokes are (TIC_BOARD: the class
// history's board data, as JSON), and its chat the greeting. Then they talk
// live: the student sends C2C text and custom messages and group messages
// to the teacher and draws a stroke (the Go side checks the teacher got
// them), and waits for the teacher's C2C and group messages. Last its
// socket drops, and a group message sent meanwhile goes out after TIC
// reconnects by itself.
//
// Env: TIC_CLASS (the classId), TIC_TEACHER, TIC_STUDENT, TIC_BOARD, TIC_MEDIA ('1': the student's camera is on, so its
// member is webrtc-room's RTMP pusher and TIC follows the class).
// Prints "joined" once in the class with the board replayed, and
// "sent" once its messages and stroke were accepted.
const h = require('./harness.js');

const classId = Number(process.env.TIC_CLASS);
const teacher = process.env.TIC_TEACHER;
const student = process.env.TIC_STUDENT;
const media = process.env.TIC_MEDIA === '1';
const expectedBoard = JSON.parse(process.env.TIC_BOARD || '[]');

function chat(page, pred) {
  return page.instance.data.messages.filter(pred);
}

h.scenario('TIC: a mini-program student in a browser teacher\'s class', async () => {
  const c = await h.credentials(student, { roomId: classId });
  const page = h.load('pages/classroom/classroom', {}, { events: [], name: student });
  page.instance.onLoad({ classId: String(classId), userId: student, userSig: c.userSig, sdkAppId: String(c.sdkAppId),
    privateMapKey: c.privateMapKey, media: media ? '1' : '0' });
  page.instance.onReady();
  await h.waitFor('the student to enter the class', () => page.instance.data.phase === 'class' || page.instance.data.error);
  h.check(page.instance.data.phase === 'class', 'the page shows ' + page.instance.data.error);

  // joinClassroom resolves after the replay: the board is the teacher's.
  const board = page.instance.board.data();
  h.check(JSON.stringify(board) === JSON.stringify(expectedBoard),
    'the replayed board holds ' + JSON.stringify(board) + ',\nthe class history ' + JSON.stringify(expectedBoard));
  h.check(page.instance.data.strokes === expectedBoard.length, 'the page shows ' + page.instance.data.strokes + ' strokes');
  h.check(chat(page, m => m.from === teacher && m.text === 'Welcome to class').length === 1,
    'the greeting was not replayed once into the chat: ' + JSON.stringify(page.instance.data.messages));
  h.check(page.instance.data.members.indexOf(teacher) >= 0, 'the teacher is not among ' + JSON.stringify(page.instance.data.members));
  console.log('the board replayed ' + board.length + ' strokes from the class history, the chat the greeting');
  if (media) {
    h.check(page.instance.data.askMedia && !page.instance.data.mediaOn, 'the camera did not wait for the tap');
    page.instance.onStartMedia(); // the student taps "Turn on camera and microphone"
    await h.waitFor("the student's camera pushing", () => (h.pusher(student) && h.pusher(student).pushing) || page.instance.data.error ||
      page.instance.data.phase !== 'class');
    h.check(!page.instance.data.error && page.instance.data.phase === 'class',
      'the page shows ' + (page.instance.data.error || page.instance.data.endedText));
  }
  console.log('joined');

  // To the teacher: privately (typed in the chat, the receiver picked from
  // the members), a custom C2C message, and to the class.
  const tic = page.instance.tic;
  page.instance.onPickReceiver({ currentTarget: { dataset: { userId: teacher } } });
  page.instance.onDraftInput({ detail: { value: 'I have a question' } });
  await page.instance.onSend();
  h.check(page.instance.data.error === '', 'sending from the chat box: ' + page.instance.data.error);
  await tic.sendC2CCustomMessage(teacher, '{"hand":"up"}');
  page.instance.onPickReceiver({ currentTarget: { dataset: { userId: '' } } });
  page.instance.onDraftInput({ detail: { value: 'Good morning' } });
  await page.instance.onSend();
  const seq = await page.instance.draw([[0.2, 0.8], [0.5, 0.6], [0.8, 0.8]], '#30a46c', 90);
  h.check(seq > expectedBoard.length, 'the stroke got seq ' + seq);
  h.check(page.instance.data.strokes === expectedBoard.length + 1, 'the board shows ' + page.instance.data.strokes + ' strokes');
  console.log('sent');

  // From the teacher, live.
  await h.waitFor("the teacher's private text", () => chat(page, m => m.from === teacher && m.private && m.text === 'Tom, please open page 12')[0]);
  await h.waitFor("the teacher's private custom message", () => chat(page, m => m.from === teacher && m.private && m.custom && m.text === '{"quiz":1}')[0]);
  await h.waitFor("the teacher's group text", () => chat(page, m => m.from === teacher && !m.private && m.text === 'Open your books')[0]);
  await h.waitFor("the teacher's live stroke", () => page.instance.data.strokes === expectedBoard.length + 2);
  h.check(chat(page, m => m.text === 'Good morning' && m.mine).length === 1, 'our group message is not once in our chat');
  h.check(page.instance.data.phase === 'class', 'the student left the class: ' + page.instance.data.endedText);
  console.log('received the teacher\'s C2C text and custom messages, a group text and a live stroke');

  // The socket drops (wx.connectSocket's transport): a message sent then
  // goes out once TIC has signed in and rejoined by itself.
  const restored = [];
  tic.addTICStatusListener({ onTICConnectionRestored: () => restored.push(true), onTICConnectionFailed: (code, desc) => restored.push(code + ' ' + desc) });
  tic.getTrtcClient().dropConnection();
  await tic.sendGroupTextMessage('Back online');
  await h.waitFor('TIC to say the connection is back', () => restored[0]);
  h.check(restored[0] === true, 'reconnecting failed: ' + restored[0]);
  h.check(page.instance.data.phase === 'class', 'the student left the class while reconnecting: ' + page.instance.data.endedText);
  console.log('reconnected after a dropped socket; a message sent meanwhile went out');
  page.instance.onUnload();
}, 85000);
