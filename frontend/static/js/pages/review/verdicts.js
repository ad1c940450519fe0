// Verdicts: accept the answer in hand, reject it with a reason the annotator reads (and may appeal), or fix it
// (fix.js); each is given once, then the page moves to the next answer still waiting, or the next item.
import { api } from "../../lib/api.js";
import { t } from "../../lib/i18n.js";
import { $, clearMessages, fail, setReady } from "./dom.js";
import { afterVerdict, drawItem, loadNext, renderAnswers } from "./item.js";

/** Send a verdict on the answer in hand; returns the review made, or null when it was refused (said where). */
export async function judge(rv, body, { onRefused } = {}) {
  const answer = rv.item && rv.item.answers[rv.current];
  if (!answer || answer.verdict || rv.busy) return null;
  rv.busy = true;
  setReady(false);
  clearMessages();
  let made;
  try {
    made = await api.post(`/api/v1/annotations/${answer.id}/review`, body);
  } catch (error) {
    rv.busy = false;
    if (error.status === 409 && error.problem && error.problem.code === "already_decided") {
      // Judged by someone else meanwhile: show the item as it is now (the same lease), and say so.
      await loadNext(rv).catch(fail);
      fail(error);
    } else if (onRefused) {
      onRefused(error);
    } else {
      fail(error);
    }
    setReady(!rv.loadingImage);
    return null;
  }
  answer.verdict = made.verdict;
  answer.review_id = made.id;
  rv.made.set(answer.id, made);
  rv.rejectDraft = "";
  rv.fix = null;
  $("fix-panel").hidden = true;
  rv.busy = false;
  await afterVerdict(rv).catch(fail); // the next answer, or the next item
  setReady(!rv.loadingImage);
  return made;
}

export function accept(rv) {
  if (rv.mode !== "review") return;
  return judge(rv, { verdict: "accept" });
}

export function startReject(rv) {
  const answer = rv.item && rv.item.answers[rv.current];
  if (rv.mode !== "review" || !answer || answer.verdict) return;
  rv.mode = "reject";
  renderAnswers(rv);
  $("reject-reason").focus();
}

export async function sendReject(rv) {
  if (rv.mode !== "reject") return;
  const note = $("reject-reason").value.trim();
  if (!note) {
    refuse(t("rv.reasonNeeded"));
    return;
  }
  const made = await judge(rv, { verdict: "reject", note }, { onRefused: (error) => refuse(error.message) });
  if (!made && rv.mode === "reject" && $("reject-reason")) $("reject-reason").focus();
}

function refuse(message) {
  const problem = $("reject-error");
  if (!problem) {
    fail(new Error(message));
    return;
  }
  problem.textContent = message;
  problem.hidden = false;
  $("reject-reason").focus();
}

/** Leave a rejection being written (its words are kept for the next try) or a fix, back to the answers. */
export function cancel(rv) {
  if (rv.mode !== "reject" && rv.mode !== "fix") return;
  rv.mode = "review";
  rv.fix = null;
  $("fix-panel").hidden = true;
  renderAnswers(rv);
  drawItem(rv);
  document.activeElement?.blur?.();
}
