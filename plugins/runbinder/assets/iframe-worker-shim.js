/* runbinder: a stand-in for Web Workers on pages opened from file://, where Chromium refuses to start a worker
   (Material's search runs in one). The worker script runs in a hidden frame of the page instead.

   It writes no inline script into that frame: the worker's globals (postMessage, importScripts) come from
   worker-frame.js, a file of the site, so the pages' Content-Security-Policy can forbid inline scripts.
   Its file name contains "iframe-worker" so Material's offline plugin adds no CDN copy of its own. */
(function () {
  "use strict";
  if (location.protocol !== "file:") return;
  var script = document.currentScript;
  var frameScript = new URL("worker-frame.js", script ? script.src : location.href).href;

  function attribute(text) {
    return String(text).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }

  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      this.url = new URL(String(url), location.href).href;
      this.onmessage = null;
      this.onerror = null;
      this.frame = document.createElement("iframe");
      this.frame.hidden = true;
      this.frame.dataset.workerUrl = this.url;
      document.body.appendChild(this.frame);
      var frameWindow = this.frame.contentWindow;
      var self = this;
      this.relay = function (event) {
        if (event.source !== frameWindow) return;
        var message = new MessageEvent("message", { data: event.data });
        self.dispatchEvent(message);
        if (typeof self.onmessage === "function") self.onmessage(message);
      };
      window.addEventListener("message", this.relay);
      this.frame.addEventListener("runbinder-worker-error", function (event) {
        var error = new ErrorEvent("error", event.detail || {});
        self.dispatchEvent(error);
        if (typeof self.onerror === "function") self.onerror(error);
      });
      var doc = frameWindow.document;
      doc.open();
      doc.write(
        '<!doctype html><html><body><script src="' + attribute(frameScript) + '"></scr' + 'ipt>' +
        '<script src="' + attribute(this.url) + '"></scr' + 'ipt></body></html>'
      );
      doc.close();
      // Listen only now: document.open() removes the frame window's listeners.
      this.ready = new Promise(function (resolve, reject) {
        frameWindow.addEventListener("load", resolve);
        frameWindow.addEventListener("error", reject);
      });
    }

    postMessage(data) {
      var frame = this.frame;
      this.ready.catch(function () {}).then(function () {
        if (frame.contentWindow) {
          frame.contentWindow.dispatchEvent(new MessageEvent("message", { data: structuredClone(data) }));
        }
      });
    }

    terminate() {
      window.removeEventListener("message", this.relay);
      this.frame.remove();
    }
  }

  window.Worker = FrameWorker;
})();
