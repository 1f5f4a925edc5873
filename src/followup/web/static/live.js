// The live parts of the conversation view and the escalation pages (no inline script, so
// the Content-Security-Policy can forbid it):
//  - the conversation box opens on the reply an escalation is about (else on the newest
//    message);
//  - the page title carries the count of open urgent escalations, read from the top bar's
//    badge each time it is polled: "(2) Escalations — followup";
//  - an optional sound (off unless turned on, remembered in localStorage) when a new
//    urgent escalation arrives.
(function () {
  "use strict";

  var SOUND_KEY = "followup.urgentSound";
  var SEEN_KEY = "followup.urgentSeen";
  var audio = null;

  function settleConversation() {
    var box = document.querySelector(".conversation-scroll");
    if (!box) {
      return;
    }
    var target = box.querySelector("[data-opened-escalation]");
    if (target) {
      // The box is the offset parent (position: relative), so offsetTop is inside it.
      box.scrollTop = target.offsetTop - (box.clientHeight - target.offsetHeight) / 2;
      var place = target.getBoundingClientRect();
      if (place.top < 0 || place.bottom > window.innerHeight) {
        target.scrollIntoView({ block: "nearest" }); // on a narrow screen, below the fold
      }
    } else {
      box.scrollTop = box.scrollHeight;
    }
  }

  function urgentCount() {
    var badge = document.querySelector("#badge [data-urgent]");
    return badge ? parseInt(badge.getAttribute("data-urgent"), 10) || 0 : 0;
  }

  function showCountInTitle(count) {
    var plain = document.title.replace(/^\(\d+\) /, "");
    document.title = count > 0 ? "(" + count + ") " + plain : plain;
  }

  function soundOn() {
    try {
      return window.localStorage.getItem(SOUND_KEY) === "on";
    } catch (error) {
      return false; // storage refused (private mode): the sound stays off
    }
  }

  function chime() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      return;
    }
    audio = audio || new Context();
    if (audio.state === "suspended") {
      audio.resume();
    }
    [0, 0.3].forEach(function (delay) {
      var tone = audio.createOscillator();
      var volume = audio.createGain();
      tone.frequency.value = 880;
      volume.gain.value = 0.15;
      tone.connect(volume);
      volume.connect(audio.destination);
      tone.start(audio.currentTime + delay);
      tone.stop(audio.currentTime + delay + 0.18);
    });
    // Counted on the page, so a test (or a curious admin) can tell the chime went off.
    var root = document.documentElement;
    root.setAttribute("data-urgent-chimes", String((parseInt(root.getAttribute("data-urgent-chimes"), 10) || 0) + 1));
  }

  function onBadge() {
    var count = urgentCount();
    showCountInTitle(count);
    var seen = parseInt(window.sessionStorage.getItem(SEEN_KEY), 10);
    if (!isNaN(seen) && count > seen && soundOn()) {
      chime();
    }
    window.sessionStorage.setItem(SEEN_KEY, String(count));
  }

  function showSoundToggle(button) {
    var on = soundOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "Sound for new urgent: on" : "Sound for new urgent: off";
  }

  function setUpSoundToggle() {
    var button = document.getElementById("sound-toggle");
    if (!button) {
      return;
    }
    button.hidden = false;
    showSoundToggle(button);
    button.addEventListener("click", function () {
      try {
        window.localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on");
      } catch (error) {
        return;
      }
      showSoundToggle(button);
      if (soundOn()) {
        chime(); // a click is the gesture browsers ask for before any sound, and a sample
      }
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "badge") {
      onBadge();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    settleConversation();
    setUpSoundToggle();
  });
})();
