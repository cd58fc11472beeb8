document.getElementById('app').textContent = 'Events API console';
