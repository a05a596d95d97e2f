// Overusage: small enhancements; every page works without this file.
(function () {
  'use strict';
  // Ask before a form marked data-confirm is sent.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form && form.getAttribute && form.getAttribute('data-confirm') && !window.confirm(form.getAttribute('data-confirm'))) e.preventDefault();
  });

  // A dispute's decision moves money: ask, naming the amount (the adjusted one once previewed).
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form || !form.classList || !form.classList.contains('ou-resolve') || !e.submitter || e.submitter.value !== 'resolve') return;
    var to = form.querySelector('input[name="to"]:checked');
    if (!to) return;
    var text = to.getAttribute('data-confirm').replace('{amount}', form.getAttribute('data-new-amount') || 'the new amount');
    if (!window.confirm(text)) e.preventDefault();
  });

  // A previewed amount holds only for the figures it was previewed with: once the way or the figure
  // changes, the question above names no amount until a preview of the new figures comes back (a
  // previewed 50 % share must not be confirmed as the amount of the €123.45 typed after it). On
  // `input` only: a field's `change` when it loses focus changes no figure, and the preview must not
  // jump under the pointer then (the click on the radio below it would land elsewhere).
  var page = document.getElementById('overusage-admin');
  var asks = !!(page && window.fetch && page.getAttribute('data-api'));
  document.addEventListener(
    'input',
    function (e) {
      var el = e.target;
      var form = el && el.form;
      if (!form || !form.classList.contains('ou-resolve')) return;
      if (el.name !== 'kind' && el.name !== 'percent' && el.name !== 'amount' && el.name !== 'to') return;
      form.removeAttribute('data-new-amount');
      var out = form.querySelector('[data-preview]');
      var to = form.querySelector('input[name="to"]:checked');
      // where the page asks the API the new preview is on its way: its line keeps its place meanwhile
      if (out) out.textContent = asks && to && to.value === 'adjusted' ? 'Working out the new amount…' : '';
    },
    true,
  );

  // The admin's resolve form: show the adjusted amount while it is typed (the JSON API's preview).
  var root = document.getElementById('overusage-admin');
  // inside a host (WHMCS) the page has no API to ask: the form's preview button does it instead
  if (!root || !window.fetch || !root.getAttribute('data-api')) return;
  var api = root.getAttribute('data-api');
  var token = root.getAttribute('data-token');
  Array.prototype.forEach.call(root.querySelectorAll('form.ou-resolve'), function (form) {
    var out = form.querySelector('[data-preview]');
    var id = form.getAttribute('data-dispute');
    var timer = null;
    // only the answer to the latest question counts: an earlier one arriving late is dropped
    var asked = 0;
    function adjustment() {
      var kind = form.elements.kind.value;
      if (kind === 'share') return { kind: 'share', percent: form.elements.percent.value.trim() };
      if (kind === 'amount') return { kind: 'amount', amount: form.elements.amount.value.trim() };
      return { kind: 'precommit' };
    }
    function refresh() {
      var to = form.querySelector('input[name="to"]:checked');
      if (!to || to.value !== 'adjusted') return;
      var a = adjustment();
      var mine = ++asked;
      // nothing to ask about until the figure is there
      if ((a.kind === 'share' && !a.percent) || (a.kind === 'amount' && !a.amount)) {
        out.textContent = '';
        return;
      }
      fetch(api + '/admin/disputes/' + encodeURIComponent(id) + '/preview', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token },
        body: JSON.stringify({ adjustment: a }),
      })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (mine !== asked) return;
          out.textContent = j.error ? j.error.message : 'New amount: ' + j.preview.formatted + ' (' + j.preview.explanation + ')';
          if (j.error) form.removeAttribute('data-new-amount');
          else form.setAttribute('data-new-amount', j.preview.formatted);
        })
        .catch(function () {});
    }
    form.addEventListener('input', function () {
      // a question already on its way was about the figures before this keystroke
      asked++;
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
    form.addEventListener('change', refresh);
  });
})();
