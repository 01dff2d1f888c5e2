// whatsapp-web.js pins full puppeteer, whose install would download Chrome (no internet here).
// wacloud always drives the system Chromium through puppeteer-core, so the download is skipped.
module.exports = { skipDownload: true };
