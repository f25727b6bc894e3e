// TIC in the mini program: a late joiner's board replays a class history
// larger than the server lets one connection read at once (e2e starts
// trtcd with classrooms' history_bytes_per_second and history_reply_bytes
// set low). The server answers the pages past the first seconds' worth with
// 10023 and how long to wait; TIC waits as told, so joinClassroom resolves
// with every stroke on the board, in order, and none lost.
const h = require('./harness.js');
const { createTIC } = require('../tic/tic.js');

const CLASS_ID = 7302;
const STROKES = 12; // of 8 KB: about 100 KB, past the 64 KB the Go side lets through at once

async function phone(userId) {
  const c = await h.credentials(userId, { roomId: CLASS_ID });
  const tic = createTIC({ url: h.env.http });
  await tic.init(c.sdkAppId);
  await tic.login({ userId, userSig: c.userSig });
  return tic;
}

h.scenario('TIC: a late joiner replays a paced class history whole', async () => {
  const teacher = await phone('ms-qian');
  await teacher.createClassroom(CLASS_ID);
  await teacher.joinClassroom(CLASS_ID, {});
  for (let i = 0; i < STROKES; i++) {
    await teacher.sendBoardData(JSON.stringify({ stroke: i, points: 'x'.repeat(8000) }));
  }
  const student = await phone('lei');
  const strokes = [];
  student.setBoard({ addSyncData: (data) => strokes.push(JSON.parse(data).stroke) });
  const started = Date.now();
  await student.joinClassroom(CLASS_ID, {});
  const took = Date.now() - started;
  h.check(JSON.stringify(strokes) === JSON.stringify([...Array(STROKES).keys()]), 'the board replayed strokes ' + JSON.stringify(strokes));
  h.check(took >= 500, `the replay took ${took} ms: the server's pace was never met, so nothing was tested`);
  console.log(`the board replayed all ${STROKES} strokes of 8 KB in ${took} ms, waiting as the server said`);
  await student.logout();
  await teacher.logout();
});
