// Make require.js resolve the Jupyter widget manager's modules and fonts from
// this site's own _static/ folder (Sphinx sets data-content_root on <html>),
// so widgets render with no network.
(function () {
  var root = document.documentElement.dataset.content_root || "./";
  if (window.require && window.require.config) {
    window.require.config({ baseUrl: root + "_static/" });
  }
})();
