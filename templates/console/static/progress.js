// Live progress on an action's page: listens on /ui/events (the session cookie authenticates) and
// updates the state, the phase ladder and the bar; reloads once when the action finishes. Without
// JavaScript the page refreshes itself (<noscript> meta refresh) instead.
(function () {
  'use strict';
  var box = document.getElementById('progress');
  if (!box || box.getAttribute('data-finished') === '1' || !window.EventSource) return;
  var id = box.getAttribute('data-action');
  var es = new EventSource('/ui/events?id=' + encodeURIComponent(id));
  var text = function (elId, s) { var el = document.getElementById(elId); if (el) el.textContent = s; };
  es.addEventListener('progress', function (e) {
    var a = JSON.parse(e.data);
    if (a.id !== id) return;
    text('state', a.state);
    text('progress-text', a.progress);
    text('detail', a.detail || '');
    var bar = document.getElementById('bar');
    if (bar) { bar.value = a.percent; bar.textContent = a.percent + '%'; }
    var items = document.querySelectorAll('#phases li');
    for (var i = 0; i < items.length && i < a.phases.length; i++) { items[i].className = a.phases[i].cls; items[i].textContent = a.phases[i].name; }
    if (a.finished) { es.close(); window.location.reload(); }
  });
})();
