// Make require.js resolve the Jupyter widget manager's modules and fonts from
// this site's own _static/ folder (Sphinx sets data-content_root on <html>),
// so widgets render with no network.
(function () {
  var root = document.documentElement.dataset.content_root || "./";
  if (window.require && window.require.config) {
    window.require.config({ baseUrl: root + "_static/" });
  }
})();

// The widget views typeset their labels with MathJax 2's MathJax.Hub.Queue
// whenever window.MathJax exists; this site loads MathJax 3, which has no Hub,
// so every drawn or moved control threw "Cannot read properties of undefined
// (reading 'Queue')". Give every MathJax object (the configuration Sphinx sets
// and the one MathJax 3 puts in its place when it loads) a hidden Hub whose
// Queue typesets the element with MathJax 3.
(function () {
  function addHub(mathjax) {
    if (!mathjax || typeof mathjax !== "object" || mathjax.Hub) return;
    Object.defineProperty(mathjax, "Hub", {
      configurable: true,
      enumerable: false, // MathJax 3 copies its configuration's own enumerable keys only
      value: {
        Queue: function (job) {
          var element = job && job[2];
          var mj = window.MathJax;
          if (!element || !mj || !mj.startup || !mj.startup.promise) return;
          mj.startup.promise.then(function () {
            return mj.typesetPromise ? mj.typesetPromise([element]) : null;
          }).catch(function () {});
        },
      },
    });
  }
  var current = window.MathJax;
  addHub(current);
  try {
    Object.defineProperty(window, "MathJax", {
      configurable: true,
      enumerable: true,
      get: function () { return current; },
      set: function (value) { current = value; addHub(value); },
    });
  } catch (err) { // MathJax declared with `var` before this script: shim the object it has
    window.addEventListener("load", function () { addHub(window.MathJax); });
  }
})();
