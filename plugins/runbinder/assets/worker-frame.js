/* runbinder: the globals a worker script expects, inside the frame that iframe-worker-shim.js runs it in. */
(function () {
  "use strict";
  var host = window.parent;
  var frame = window.frameElement;
  var workerUrl = frame ? frame.dataset.workerUrl : location.href;

  // A worker's postMessage(data) reaches its page; the page tells this frame's messages from others by source.
  window.postMessage = function (data) {
    host.postMessage(data, "*");
  };

  // importScripts(...urls): load each script in turn, relative to the worker script as in a real worker.
  window.importScripts = function () {
    var urls = Array.prototype.slice.call(arguments);
    return urls.reduce(function (previous, url) {
      return previous.then(function () {
        return new Promise(function (resolve, reject) {
          var element = document.createElement("script");
          element.src = new URL(String(url), workerUrl).href;
          element.onload = resolve;
          element.onerror = reject;
          document.body.appendChild(element);
        });
      });
    }, Promise.resolve());
  };

  window.addEventListener("error", function (event) {
    if (!frame) return;
    var detail = { message: event.message, filename: event.filename, lineno: event.lineno, colno: event.colno };
    frame.dispatchEvent(new CustomEvent("runbinder-worker-error", { detail: detail }));
  });
})();
