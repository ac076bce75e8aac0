/* The one-shot quiz: pick the candidate that matches the query, by click, drag or keyboard. */
"use strict";

(function () {
  Fig.figure("quiz", (root, fig) => {
    const $ = fig.$;
    const ways = $("[data-quiz-ways]");
    const query = $("[data-quiz-query]");
    const choicesBox = $("[data-quiz-choices]");
    const feedback = $("[data-quiz-feedback]");
    const scoreLine = $("[data-quiz-score]");
    const next = $("[data-quiz-next]");
    const models = $("[data-quiz-models]");
    let task = null, shownAt = 0, answered = false, score = Fig.quizScore();

    function showScore() {
      const parts = ["5", "20"].map((w) => {
        const s = score[w];
        const pct = s.answered ? ` (${Math.round((100 * s.correct) / s.answered)}%)` : "";
        return `${w}-way: ${s.correct} / ${s.answered}${pct}`;
      });
      scoreLine.textContent = "Your score: " + parts.join(" · ");
    }

    function choiceButtons() {
      return Array.from(choicesBox.querySelectorAll("[data-quiz-choice]"));
    }

    async function load() {
      answered = false;
      clearDigits();
      next.disabled = true;
      models.textContent = "";
      feedback.textContent = "Loading a new task…";
      feedback.className = "quiz-feedback";
      try {
        task = await Fig.json(`/api/quiz/task?ways=${ways.value}`);
      } catch (error) {
        fig.fail(error, "The quiz is unavailable");
        return;
      }
      query.src = task.query;
      choicesBox.textContent = "";
      choicesBox.classList.toggle("many", task.ways > 5);
      task.choices.forEach((url, i) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "quiz-choice";
        button.dataset.quizChoice = String(i);
        button.setAttribute("aria-label", `candidate ${i + 1}`);
        const img = document.createElement("img");
        img.src = url;
        img.alt = "";
        img.width = 105;
        img.height = 105;
        img.draggable = false;
        const key = document.createElement("span");
        key.className = "quiz-key";
        key.textContent = String(i + 1);
        button.append(img, key);
        button.addEventListener("click", () => answer(i));
        choicesBox.appendChild(button);
      });
      await Promise.all([query, ...choicesBox.querySelectorAll("img")].map(
        (img) => (img.complete ? null : new Promise((done) => { img.onload = img.onerror = done; }))));
      shownAt = performance.now();
      feedback.textContent = "";
    }

    async function answer(choice) {
      if (answered || !task) return;
      answered = true;
      clearDigits();
      const ms = Math.round(performance.now() - shownAt);
      let result;
      try {
        result = await Fig.json("/api/quiz/answer", { task: task.task, choice, ms });
      } catch (error) {
        answered = false;
        fig.fail(error, "Your answer was not recorded");
        return;
      }
      Fig.rememberTask(task.task, choice);
      const mode = score[String(task.ways)];
      mode.answered += 1;
      mode.correct += result.correct ? 1 : 0;
      Fig.saveQuizScore(score);
      showScore();
      const buttons = choiceButtons();
      buttons[result.answer].classList.add("right");
      if (!result.correct) buttons[choice].classList.add("wrong");
      buttons.forEach((b) => b.setAttribute("aria-disabled", "true"));
      feedback.className = "quiz-feedback " + (result.correct ? "right" : "wrong");
      feedback.textContent = result.correct
        ? `Right, candidate ${result.answer + 1}. (${(ms / 1000).toFixed(1)} s)`
        : `Not this one: the match is candidate ${result.answer + 1}, outlined in green. ` +
          "Compare the strokes: the same character keeps its parts, whoever draws it.";
      next.disabled = false;
      next.focus();
      showModels(task.task);
    }

    /* After the reader's answer: what each trained model answered on the same task. */
    async function showModels(token) {
      models.textContent = "";
      // optional: without the models' answers the quiz stays as it is
      const answers = await Fig.json(`/api/quiz/models?task=${encodeURIComponent(token)}`).catch(() => null);
      if (!answers || token !== task.task || !answers.length) return;
      const caption = document.createElement("p");
      caption.textContent = "The models trained on this server, on the same task:";
      const list = document.createElement("ul");
      for (const a of answers) {
        const item = document.createElement("li");
        item.className = a.correct ? "right" : "wrong";
        item.textContent = `${a.title}: candidate ${a.answer + 1}, ${Math.round(100 * a.confidence)}% sure ${a.correct ? "✓" : "✗"}`;
        list.appendChild(item);
      }
      models.append(caption, list);
    }

    /* Drag the query onto a candidate: pointer events, so mouse, pen and touch all work. */
    query.addEventListener("pointerdown", (event) => {
      if (answered || !task) return;
      event.preventDefault();
      const ghost = query.cloneNode();
      ghost.className = "quiz-ghost";
      document.body.appendChild(ghost);
      const move = (e) => {
        ghost.style.left = `${e.clientX - 40}px`;
        ghost.style.top = `${e.clientY - 40}px`;
        choiceButtons().forEach((b) => b.classList.remove("over"));
        const target = document.elementFromPoint(e.clientX, e.clientY);
        const over = target && target.closest("[data-quiz-choice]");
        if (over) over.classList.add("over");
      };
      const up = (e) => {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", up);
        ghost.remove();
        choiceButtons().forEach((b) => b.classList.remove("over"));
        const target = document.elementFromPoint(e.clientX, e.clientY);
        const over = target && target.closest("[data-quiz-choice]");
        if (over) answer(parseInt(over.dataset.quizChoice, 10));
      };
      move(event);
      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", up);
    });

    /* Number keys answer from anywhere on the page, unless the reader is typing in a form field.
       With more than nine candidates a number may take two digits: a first digit that could begin
       a larger candidate's number waits (KEY_MS) for a second one, and the digits typed so far show
       in [data-quiz-typed]. Arrow keys move between candidates while one has the focus. */
    const typed = $("[data-quiz-typed]");
    const KEY_MS = 700;
    let digits = "", digitTimer = null;

    function showTyped() {
      typed.textContent = digits ? `${digits}… type a second digit, or wait` : "";
      typed.hidden = !digits;
      choiceButtons().forEach((b, i) => b.classList.toggle("over", digits !== "" && String(i + 1) === digits));
    }
    function clearDigits() {
      clearTimeout(digitTimer);
      digits = "";
      showTyped();
    }
    function commitDigits() {
      const n = parseInt(digits, 10);
      clearDigits();
      if (n >= 1 && n <= choiceButtons().length) answer(n - 1);
    }
    function typeDigit(d) {
      const count = choiceButtons().length;
      clearTimeout(digitTimer);
      digits = parseInt(digits + d, 10) <= count ? digits + d : d;
      if (digits === "0") { clearDigits(); return; }
      if (parseInt(digits, 10) * 10 > count) { commitDigits(); return; }  // no longer number starts so
      showTyped();
      digitTimer = setTimeout(commitDigits, parseInt(root.dataset.quizKeyMs, 10) || KEY_MS);
    }

    const inField = (el) => el && el.closest && el.closest("input, select, textarea, [contenteditable]:not([contenteditable=false])");
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || inField(event.target)) return;
      if (/^[0-9]$/.test(event.key)) {
        if (!task || answered) return;
        event.preventDefault();
        typeDigit(event.key);
      } else if ((event.key === "n" || event.key === "N") && answered) {
        event.preventDefault();
        load();
      } else if (["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"].includes(event.key) && root.contains(document.activeElement)) {
        const buttons = choiceButtons();
        if (!buttons.length) return;
        event.preventDefault();
        const index = buttons.indexOf(document.activeElement);
        const step = event.key === "ArrowRight" || event.key === "ArrowDown" ? 1 : -1;
        const from = index < 0 ? (step > 0 ? -1 : 0) : index;
        buttons[(from + step + buttons.length) % buttons.length].focus();
      }
    });

    next.addEventListener("click", load);
    ways.addEventListener("change", load);
    $("[data-quiz-reset]").addEventListener("click", () => {
      score = { "5": { answered: 0, correct: 0 }, "20": { answered: 0, correct: 0 } };
      Fig.saveQuizScore(score);
      showScore();
    });
    showScore();
    load();
  });
})();
