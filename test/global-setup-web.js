// The web page's bundle (page.js with hls.js) for the tests that read or load it; the committed
// card is left alone (test/unit/card-bundle.test.ts checks it is up to date).
module.exports = async () => {
  await require('../scripts/build-web').buildWeb(['dist/web/page.js']);
};
