// Small progressive enhancement: the pages work without it.
// A submitted form cannot be sent twice by a double tap.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
  setTimeout(function () { delete form.dataset.sent; }, 3000);
});
