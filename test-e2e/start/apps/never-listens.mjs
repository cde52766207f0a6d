// An app that starts but never listens (a worker stuck waiting for something).
setInterval(() => {}, 1000);
