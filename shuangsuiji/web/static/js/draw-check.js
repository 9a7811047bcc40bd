// The public draw page's self-check (SRDP-1 §3.2, §5.1-§5.3), computed in the reader's browser:
// the seed from the published commitment and randomness, and any firm's ticket from the seed,
// with WebCrypto SHA-256 and BigInt. No third-party code; no inline script (the CSP).
(function () {
  "use strict";

  var TICKET_DIGITS = 18;

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = "";
    for (var i = 0; i < bytes.length; i++) {
      out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    }
    return out;
  }

  // hex(SHA256(text)), the text encoded as UTF-8.
  function sha256hex(text) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(hex);
  }

  // The seed text of SRDP-1 §3.2; `randomness` is [{label, value}] in the plan's order.
  function seedText(planId, snapshot, randomness) {
    var lines = ["SRDP-1 seed", "plan_id=" + planId, "snapshot=" + snapshot];
    randomness.forEach(function (r) { lines.push("rand." + r.label + "=" + r.value); });
    return lines.join("\n") + "\n";
  }

  // S = hex(SHA256(seed text)).
  function seedOf(text) {
    return sha256hex(text);
  }

  // T(e) = "0." + reverse(decimal(x(e)) left-padded to 64 digits), x(e) = SHA256(H0 + id),
  // H0 = hex(SHA256(S)) (SRDP-1 §5.1).
  function fullTicket(seed, entityId) {
    return sha256hex(seed).then(function (h0) {
      return crypto.subtle.digest("SHA-256", new TextEncoder().encode(h0 + entityId));
    }).then(function (digest) {
      var decimal = BigInt("0x" + hex(digest)).toString(10);
      while (decimal.length < 64) { decimal = "0" + decimal; }
      return "0." + decimal.split("").reverse().join("");
    });
  }

  // consistent_sampler's trim: `digits` digits after any leading run of 9s (SRDP-1 §5.2).
  function trim(ticket, digits) {
    var mantissa = ticket.slice(2);
    var nines = mantissa.length - mantissa.replace(/^9+/, "").length;
    return ticket.slice(0, 2 + nines + (digits === undefined ? TICKET_DIGITS : digits));
  }

  function ticketOf(seed, entityId) {
    return fullTicket(seed, entityId).then(function (t) { return trim(t); });
  }

  // Drawn exactly when the ticket is not above the threshold, the ticket of the group's last
  // drawn entity (SRDP-1 §5.3). Trimmed tickets compare as strings: a longer run of 9s is a
  // larger ticket at the first digit where the runs differ.
  function isDrawn(ticket, threshold) {
    return threshold !== null && threshold !== undefined && ticket <= threshold;
  }

  window.SRDPCheck = {
    seedText: seedText, seedOf: seedOf, fullTicket: fullTicket, trim: trim,
    ticketOf: ticketOf, isDrawn: isDrawn
  };

  // -- the page ----------------------------------------------------------------------------

  function normalise(text) {
    return (text.normalize ? text.normalize("NFKC") : text).trim().toUpperCase();
  }

  function show(box, kind, lines) {
    box.classList.toggle("alert-error", kind === "fail");
    box.classList.toggle("alert-info", kind !== "fail");
    box.setAttribute("data-outcome", kind);
    box.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    });
    box.hidden = false;
  }

  function publishedSample() {
    var rows = {};
    document.querySelectorAll("#sample tr[data-entity]").forEach(function (tr) {
      rows[tr.getAttribute("data-entity")] = tr.getAttribute("data-ticket");
    });
    return rows;
  }

  function verdict(uscc, ticket, answer) {
    if (!answer.in_snapshot) {
      return ["ok", [
        "统一社会信用代码 " + uscc + " 不在本次抽取冻结的检查对象名录中：该主体没有参加本次抽取，因此不会因本次抽取被检查。"
      ]];
    }
    var listed = publishedSample()[uscc];
    var drawn = isDrawn(ticket, answer.threshold_ticket);
    var head = "该主体的签号（在您的浏览器中算出）：" + ticket;
    if (drawn !== (listed !== undefined) || (listed !== undefined && listed !== ticket)) {
      return ["fail", [head, "核验失败：算出的结果与本页公布的抽中名单不一致，请保存本页并向纪检或审计部门反映。"]];
    }
    if (answer.threshold_ticket === null) {
      return ["ok", [head, "该主体所在组本次没有抽取任何主体，该主体未被抽中。"]];
    }
    var threshold = "其所在组的门槛签号：" + answer.threshold_ticket;
    if (drawn) {
      return ["ok", [head, threshold,
        (ticket === answer.threshold_ticket ? "该主体的签号等于其所在组的门槛签号（该组最后一个抽中的主体）" :
          "该主体的签号低于其所在组的门槛签号") + "，签号较小的主体依次抽中：该主体被抽中，与公布的抽中名单一致。"]];
    }
    return ["ok", [head, threshold,
      "该主体的签号高于其所在组的门槛签号，签号较小的主体依次抽中：该主体未被抽中，与公布的抽中名单一致。"]];
  }

  function run(form, box) {
    var data = form.dataset;
    var randomness = [];
    document.querySelectorAll("[data-rand-label]").forEach(function (el) {
      randomness.push({ label: el.getAttribute("data-rand-label"), value: el.getAttribute("data-rand-value") });
    });
    var snapshot = document.getElementById("published-snapshot").textContent.trim();
    var published = document.getElementById("published-seed").textContent.trim();
    var uscc = normalise(form.querySelector("input[name=uscc]").value);
    if (!/^[0-9A-Z]{18}$/.test(uscc)) {
      show(box, "info", ["请输入 18 位统一社会信用代码（数字和大写字母）。"]);
      return Promise.resolve();
    }
    if (!window.crypto || !crypto.subtle || typeof BigInt === "undefined") {
      show(box, "info", ["您的浏览器不支持所需的计算功能，请换用较新的浏览器，或按下方“如何复核”的步骤核验。"]);
      return Promise.resolve();
    }
    show(box, "info", ["正在您的浏览器中计算……"]);
    var seedLine;
    return seedOf(seedText(data.planId, snapshot, randomness)).then(function (seed) {
      if (seed !== published) {
        show(box, "fail", [
          "核验失败：用本页公布的快照摘要和随机数算出的种子是 " + seed + "，与本页公布的种子 " + published + " 不一致。",
          "本页的数据可能被篡改，请不要相信本页的抽取结果，并向纪检或审计部门反映。"
        ]);
        return null;
      }
      seedLine = "种子核验一致：" + seed;
      return Promise.all([
        ticketOf(seed, uscc),
        fetch(data.checkUrl + "?uscc=" + encodeURIComponent(uscc), { headers: { Accept: "application/json" } })
          .then(function (response) {
            return response.json().then(function (body) { return { ok: response.ok, body: body }; });
          })
      ]);
    }).then(function (parts) {
      if (parts === null) { return; }
      var answer = parts[1];
      if (!answer.ok) {
        show(box, "info", [(answer.body && answer.body.message) || "查询失败，请稍后再试。"]);
        return;
      }
      var result = verdict(uscc, parts[0], answer.body);
      show(box, result[0], [seedLine].concat(result[1]));
    }).catch(function () {
      show(box, "info", ["查询失败，请检查网络后再试。"]);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("self-check");
    var box = document.getElementById("self-check-result");
    if (!form || !box) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      form.setAttribute("aria-busy", "true");
      run(form, box).then(function () { form.removeAttribute("aria-busy"); });
    });
  });
})();
