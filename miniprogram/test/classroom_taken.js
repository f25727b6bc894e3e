// The classroom page (pages/classroom) of a teacher whose class id someone
// else took: mallory created class 7320 first, then Ms Li opens the page to
// teach class 7320. The page must tell her the class is mallory's and keep
// her out, rather than sit her in mallory's class as a student.
const h = require('./harness.js');
const { createTIC } = require('../tic/tic.js');

const CLASS_ID = 7320;

h.scenario("classroom page: a teacher whose class id is someone else's", async () => {
  const m = await h.credentials('mallory', { roomId: CLASS_ID });
  const mallory = createTIC({ url: h.env.http });
  await mallory.init(m.sdkAppId);
  await mallory.login({ userId: 'mallory', userSig: m.userSig });
  await mallory.createClassroom(CLASS_ID);

  const c = await h.credentials('ms-li', { roomId: CLASS_ID });
  const page = h.load('pages/classroom/classroom', {}, { events: [], name: 'ms-li' });
  page.instance.onLoad({ classId: String(CLASS_ID), userId: 'ms-li', role: 'teacher', userSig: c.userSig,
    sdkAppId: String(c.sdkAppId), privateMapKey: c.privateMapKey, media: '0' });
  page.instance.onReady();
  await h.waitFor('the page to leave the loading screen', () => page.instance.data.phase !== 'loading' || page.instance.data.error);
  const d = page.instance.data;
  h.check(d.phase !== 'class', 'Ms Li entered mallory\'s class (she is ' + (d.creator === 'ms-li' ? 'its teacher' : 'a student') + ')');
  h.check(/belongs to mallory/.test(d.endedText) && /belongs to mallory/.test(d.error),
    'the page does not say the class is mallory\'s: ' + JSON.stringify({ endedText: d.endedText, error: d.error }));
  h.check(!page.instance.tic.getClassInfo(), 'Ms Li\'s TIC is still in class ' + CLASS_ID);
  console.log('the page says: ' + d.endedText);
  page.instance.onUnload();
  await mallory.logout();
});
