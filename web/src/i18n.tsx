// Chinese and English, both first-class: every word on screen comes from here, and dates,
// numbers and percentages are formatted for the chosen language. The choice is remembered
// per user in this browser.
import { createContext, useContext } from "react";
import { ApiFailure } from "./api/client";

export type Language = "zh" | "en";

const words = {
  appName: { zh: "Fieldline 销售管理", en: "Fieldline" },
  signIn: { zh: "登录", en: "Sign in" },
  signInHelp: {
    zh: "粘贴管理员发给您的登录链接（或令牌）。",
    en: "Paste the sign-in link (or token) your administrator sent you.",
  },
  signInLink: { zh: "登录链接", en: "Sign-in link" },
  signInBad: {
    zh: "这不是有效的登录链接，请复制完整的链接。",
    en: "That is not a sign-in link; copy the whole link.",
  },
  signOut: { zh: "退出", en: "Sign out" },
  language: { zh: "语言", en: "Language" },
  today: { zh: "今日", en: "Today" },
  cockpit: { zh: "过程健康", en: "Process health" },
  loading: { zh: "加载中…", en: "Loading…" },
  retry: { zh: "重试", en: "Retry" },
  myTasks: { zh: "我的待办", en: "My tasks" },
  noTasks: { zh: "没有待办，干得好！", en: "Nothing to do. Well done!" },
  overdue: { zh: "已逾期", en: "Overdue" },
  due: { zh: "截止", en: "Due" },
  why: { zh: "原因", en: "Why" },
  done: { zh: "完成", en: "Done" },
  markedDone: { zh: "已完成", en: "Done" },
  newLeads: { zh: "待首次联系的线索", en: "Leads waiting for a first contact" },
  noNewLeads: { zh: "所有线索都已联系。", en: "Every lead has been contacted." },
  called: { zh: "已电话联系", en: "Called" },
  callSummary: { zh: "电话联系", en: "Phone call" },
  logged: { zh: "已记录", en: "Logged" },
  pool: { zh: "公海线索", en: "Public pool" },
  noPool: { zh: "公海里没有线索。", en: "The pool is empty." },
  claim: { zh: "领取", en: "Claim" },
  claimed: { zh: "已领取", en: "Claimed" },
  thisWeek: { zh: "本周", en: "This week" },
  vsLastWeek: { zh: "较上周", en: "vs last week" },
  responseRate: { zh: "24小时响应率", en: "24 h response rate" },
  activationRate: { zh: "72小时激活率", en: "72 h activation rate" },
  slaBreaches: { zh: "SLA 违约", en: "SLA breaches" },
  staleLeads: { zh: "停滞线索", en: "Stale leads" },
  medianFirstContact: { zh: "首次联系中位时长", en: "Median time to first contact" },
  poolSize: { zh: "公海线索数", en: "Leads in the pool" },
  captureRate: { zh: "过程数据自动采集率", en: "Auto-capture rate" },
  healthy: { zh: "健康", en: "Healthy" },
  watch: { zh: "关注", en: "Watch" },
  warning: { zh: "预警", en: "Warning" },
  healthyAt: { zh: "健康线", en: "Healthy at" },
  warningBelow: { zh: "预警线", en: "Warning below" },
  noData: { zh: "暂无数据", en: "No data yet" },
  hours: { zh: "小时", en: "h" },
  reps: { zh: "销售代表", en: "Reps" },
  rep: { zh: "代表", en: "Rep" },
  leads: { zh: "线索", en: "Leads" },
  lead: { zh: "线索", en: "Lead" },
  deal: { zh: "商机", en: "Deal" },
  customer: { zh: "客户", en: "Customer" },
  visit: { zh: "拜访", en: "Visit" },
  board: { zh: "商机看板", en: "Pipeline" },
  heatMap: { zh: "过程断点热力图", en: "Where deals stall" },
  heatMapHelp: {
    zh: "近 90 天各阶段、各团队的停留时长中位数；超过阶段时限的格子标红。点一个阶段，看它最超时的商机。",
    en: "Median time in each stage by team over 90 days; cells over the stage's limit are marked. Pick a stage to see its most overdue deals.",
  },
  stage: { zh: "阶段", en: "Stage" },
  penetration: { zh: "转化到下一阶段", en: "On to the next stage" },
  overLimit: { zh: "超时", en: "over the limit" },
  stalledDeals: { zh: "超时商机", en: "Overdue deals" },
  noStalled: { zh: "没有超时的商机。", en: "No deal is overdue." },
  overdueBy: { zh: "超时", en: "overdue by" },
  days: { zh: "天", en: "days" },
  noTeam: { zh: "无团队", en: "No team" },
  capture: { zh: "拍照与录音", en: "Capture" },
  scanCard: { zh: "扫名片", en: "Scan a card" },
  shelfPhoto: { zh: "拍货架", en: "Shelf photo" },
  voiceNote: { zh: "录语音", en: "Voice note" },
  uploadWaiting: { zh: "等待网络，稍后自动上传", en: "Waiting for the network" },
  capture_unavailable: {
    zh: "识别服务暂不可用，请联系管理员。",
    en: "The reading service is not available; tell your administrator.",
  },
  unreadable: { zh: "没能从文件中读出内容。", en: "Nothing could be read from the file." },
  subject_gone: { zh: "关联的记录已不存在。", en: "The record it belonged to is gone." },
  upload_forbidden: { zh: "您没有权限处理这条记录。", en: "You may not work on that record." },
  uploadSending: { zh: "上传中", en: "Sending" },
  uploadReading: { zh: "识别中", en: "Being read" },
  uploadDone: { zh: "已完成", en: "Done" },
  uploadFailed: { zh: "识别失败", en: "Could not be read" },
  uploadRefused: { zh: "未被接收", en: "Not accepted" },
  close: { zh: "关闭", en: "Close" },
  moveTo: { zh: "移到阶段", en: "Move to stage" },
  stalledSince: { zh: "已超时，自", en: "Overdue since" },
  more: { zh: "还有更多…", en: "More…" },
  skipToContent: { zh: "跳到正文", en: "Skip to content" },
  errNetwork: {
    zh: "网络连接中断，请检查网络后重试。",
    en: "No connection. Check the network and try again.",
  },
  errSignedOut: {
    zh: "登录已过期，请重新登录。",
    en: "Your sign-in has expired. Please sign in again.",
  },
  errForbidden: { zh: "您没有权限执行此操作。", en: "You are not allowed to do that." },
  errNotFound: {
    zh: "找不到该记录，可能已被删除或移交他人。",
    en: "That record is gone, or it has moved to someone else.",
  },
  errConflict: {
    zh: "有人刚刚修改了这条记录，已为您刷新，请再试一次。",
    en: "Someone changed this just now. It has been refreshed; please try again.",
  },
  errBusy: { zh: "系统繁忙，请稍后再试。", en: "The system is busy. Try again in a moment." },
  errOther: { zh: "出了点问题，请稍后再试。", en: "Something went wrong. Try again later." },
} as const;

export type Word = keyof typeof words;

export interface I18n {
  language: Language;
  locale: string;
  t: (word: Word) => string;
  date: (iso: string) => string;
  number: (n: number, digits?: number) => string;
  percent: (share: number) => string;
  money: (amount: number, currency: string) => string;
  describe: (error: unknown) => string;
  /** A capture failure's stable code in words, or the server's message for a code we have
   * no words for. */
  uploadError: (code: string, message: string) => string;
}

export function i18n(language: Language): I18n {
  const locale = language === "zh" ? "zh-CN" : "en-GB";
  const dateFormat = new Intl.DateTimeFormat(locale, {
    month: "short",
    day: "numeric",
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
  const t = (word: Word) => words[word][language];
  return {
    language,
    locale,
    t,
    date: (iso) => dateFormat.format(new Date(iso)),
    number: (n, digits = 0) =>
      new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(n),
    percent: (share) =>
      new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(share),
    money: (amount, currency) =>
      new Intl.NumberFormat(locale, {
        style: "currency",
        currency,
        maximumFractionDigits: 0,
      }).format(amount),
    describe: (error) => describe(error, t),
    uploadError: (code, message) => (code in words ? t(code as Word) : message),
  };
}

/** An API failure in words the user understands; never the raw reply. */
function describe(error: unknown, t: (word: Word) => string): string {
  if (!(error instanceof ApiFailure)) return t("errOther");
  if (error.code === "network") return t("errNetwork");
  if (error.status === 401) return t("errSignedOut");
  if (error.status === 403) return t("errForbidden");
  if (error.status === 404) return t("errNotFound");
  if (error.code === "version_conflict") return t("errConflict");
  if (error.status === 503 || error.status === 429) return t("errBusy");
  // Validation and gate messages are written for people (in the requested language).
  if (error.status === 409 || error.status === 422) return error.serverMessage ?? t("errOther");
  return t("errOther");
}

const LANGUAGE_KEY = "fieldline.language";

/** The language remembered for `user` (or for this browser before sign-in). */
export function rememberedLanguage(user?: string): Language {
  const kept =
    (user && localStorage.getItem(`${LANGUAGE_KEY}.${user}`)) || localStorage.getItem(LANGUAGE_KEY);
  if (kept === "zh" || kept === "en") return kept;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function rememberLanguage(language: Language, user?: string): void {
  localStorage.setItem(LANGUAGE_KEY, language);
  if (user) localStorage.setItem(`${LANGUAGE_KEY}.${user}`, language);
}

export const I18nContext = createContext<I18n>(i18n("zh"));

export function useI18n(): I18n {
  return useContext(I18nContext);
}
