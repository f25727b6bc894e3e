// The index page, loaded from its real files: it offers both choices and
// opens the call and classroom pages with the room and user it shows.
const h = require('./harness.js');

h.scenario('the index page', async () => {
  const opened = [];
  wx.navigateTo = (o) => opened.push(o.url);
  const page = h.load('pages/index/index', {}, { events: [], name: 'index' });
  page.instance.onLoad({});
  h.check(/^mini-/.test(page.instance.data.userId) && Number(page.instance.data.roomId) >= 1000, 'the page starts without a user and room: ' +
    JSON.stringify(page.instance.data));
  for (const id of ['user-id', 'room-id', 'open-call', 'open-classroom']) {
    h.check(page.comp.querySelector('#' + id), 'the page has no #' + id);
  }

  // The simulator delivers taps and inputs asynchronously, in order.
  page.comp.querySelector('#user-id').dispatchEvent('input', { detail: { value: 'alice' } });
  page.comp.querySelector('#room-id').dispatchEvent('input', { detail: { value: '4321' } });
  page.comp.querySelector('#open-call').dispatchEvent('tap');
  await h.waitFor('the call page to open', () => opened.length === 1);
  page.instance.onRole({ detail: { value: 'teacher' } });
  page.comp.querySelector('#open-classroom').dispatchEvent('tap');
  await h.waitFor('the classroom page to open', () => opened.length === 2);
  page.instance.onRoomId({ detail: { value: '0' } });
  page.instance.openCall(); // refused: room 0
  h.check(JSON.stringify(opened) === JSON.stringify(['/pages/call/call?roomId=4321&userId=alice',
    '/pages/classroom/classroom?classId=4321&userId=alice&role=teacher']), 'the page opened ' + JSON.stringify(opened));
  console.log('the index page opens ' + opened.join(' and '));
});
