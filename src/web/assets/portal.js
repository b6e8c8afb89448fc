// The portal's one script, served from the binary (no inline script: the CSP forbids it). A
// button with data-copy="<id>" copies the text of the element with that id to the clipboard.
document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-copy]');
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  const label = button.textContent;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});
