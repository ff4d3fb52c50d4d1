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
  order: { zh: "订单", en: "Order" },
  upload: { zh: "上传的文件", en: "Upload" },
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
  uploadQueued: { zh: "排队上传", en: "Queued" },
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
  more: { zh: "显示更多", en: "Show more" },
  // Deals, forecast, customers, team and rules (the manager's pages).
  amount: { zh: "金额", en: "Amount" },
  open: { zh: "打开", en: "Open" },
  expectedClose: { zh: "预计成交", en: "Expected close" },
  inStageSince: { zh: "进入本阶段", en: "In this stage since" },
  status: { zh: "状态", en: "Status" },
  won: { zh: "赢单", en: "Won" },
  lost: { zh: "输单", en: "Lost" },
  stageHistory: { zh: "阶段记录", en: "Stage history" },
  createdIn: { zh: "创建于", en: "Created in" },
  timeInStage: { zh: "停留", en: "time in stage" },
  overridden: { zh: "经理放行的门槛", en: "Gate overridden by a manager" },
  decisions: { zh: "自动化决策", en: "What the rules did" },
  decisionLog: { zh: "决策日志", en: "Decision log" },
  noDecisions: { zh: "还没有规则对它做过什么。", en: "No rule has acted on it yet." },
  evidence: { zh: "依据", en: "Evidence" },
  trigger: { zh: "触发", en: "Trigger" },
  outcome_done: { zh: "已执行", en: "done" },
  outcome_skipped: { zh: "已跳过", en: "skipped" },
  outcome_failed: { zh: "失败", en: "failed" },
  outcome_loop_stopped: { zh: "循环已阻止", en: "loop stopped" },
  op_eq: { zh: "等于", en: "equals" },
  op_ne: { zh: "不等于", en: "is not" },
  op_in: { zh: "属于", en: "is one of" },
  op_not_in: { zh: "不属于", en: "is none of" },
  op_gt: { zh: "大于", en: "is over" },
  op_gte: { zh: "不小于", en: "is at least" },
  op_lt: { zh: "小于", en: "is under" },
  op_lte: { zh: "不大于", en: "is at most" },
  op_between: { zh: "介于", en: "is between" },
  op_present: { zh: "已填写", en: "is present" },
  op_missing: { zh: "未填写", en: "is missing" },
  op_older_than_hours: { zh: "早于（小时前）", en: "older than (hours)" },
  op_newer_than_hours: { zh: "晚于（小时内）", en: "newer than (hours)" },
  activities: { zh: "跟进记录", en: "Follow-ups" },
  noActivities: { zh: "还没有跟进记录。", en: "No follow-up logged yet." },
  activity_call: { zh: "电话", en: "Call" },
  activity_visit: { zh: "拜访", en: "Visit" },
  activity_message: { zh: "消息", en: "Message" },
  activity_note: { zh: "备注", en: "Note" },
  activity_attachment: { zh: "附件", en: "Attachment" },
  activity_approval: { zh: "审批", en: "Approval" },
  activity_consultation: { zh: "咨询", en: "Consultation" },
  activity_sample_request: { zh: "索样", en: "Sample request" },
  activity_event_attendance: { zh: "参加活动", en: "Event attendance" },
  forecast: { zh: "预测与漏斗", en: "Forecast" },
  thisMonth: { zh: "本月", en: "This month" },
  expected: { zh: "预计成交额", en: "Expected" },
  range90: { zh: "90% 区间", en: "90 % range" },
  wonSoFar: { zh: "本月已赢单", en: "Won so far" },
  commit: { zh: "承诺", en: "Commit" },
  bestCase: { zh: "最好情况", en: "Best case" },
  openPipeline: { zh: "本月在途商机", en: "Open pipeline this month" },
  dealsCount: { zh: "个商机", en: "deals" },
  unscheduled: { zh: "个无预计日期", en: "without a close date" },
  backtest: { zh: "预测回测", en: "Backtest" },
  backtestHelp: {
    zh: "每月初的预测与当月实际赢单对比；“上月同值”是最简单的对照预测。",
    en: "What the forecast said at the start of each month against what was won; \"same as last month\" is the simplest forecast to beat.",
  },
  wape: { zh: "误差 (WAPE)", en: "Error (WAPE)" },
  bias: { zh: "偏差", en: "Bias" },
  skill: { zh: "优于对照", en: "Skill over naive" },
  naive: { zh: "上月同值", en: "Same as last month" },
  actual: { zh: "实际", en: "Actual" },
  forecastSaid: { zh: "预测", en: "Forecast" },
  month: { zh: "月份", en: "Month" },
  funnel: { zh: "销售漏斗", en: "Funnel" },
  funnelHelp: {
    zh: "近 90 天新建的商机到达各阶段的数量，以及进入下一阶段的比例。",
    en: "Deals created in the last 90 days that reached each stage, and the share that went on to the next.",
  },
  reached: { zh: "到达", en: "Reached" },
  winProbability: { zh: "赢单概率", en: "Win probability" },
  customers: { zh: "客户", en: "Customers" },
  search: { zh: "搜索", en: "Search" },
  searchCustomers: { zh: "客户名称", en: "Customer name" },
  show: { zh: "显示", en: "Show" },
  allGrades: { zh: "全部等级", en: "All grades" },
  classA: { zh: "A 类", en: "Class A" },
  classB: { zh: "B 类", en: "Class B" },
  classC: { zh: "C 类", en: "Class C" },
  grade: { zh: "等级", en: "Grade" },
  health: { zh: "健康度", en: "Health" },
  health_high_value: { zh: "高价值", en: "High value" },
  health_churn_risk: { zh: "流失风险", en: "Churn risk" },
  health_high_potential: { zh: "高潜力", en: "High potential" },
  health_healthy: { zh: "健康", en: "Healthy" },
  score: { zh: "得分", en: "Score" },
  rolesMet: { zh: "已接触角色", en: "Roles met" },
  tags: { zh: "标签", en: "Tags" },
  noCustomers: { zh: "没有符合条件的客户。", en: "No customer matches." },
  noCustomersYet: {
    zh: "这一段客户中没有符合条件的，点“下一页”继续查找。",
    en: "None in this part of the list; press Next to look further.",
  },
  previous: { zh: "上一页", en: "Previous" },
  next: { zh: "下一页", en: "Next" },
  now: { zh: "现在", en: "Now" },
  monthAgo: { zh: "上月末", en: "End of last month" },
  dimValue: { zh: "交易价值", en: "Value" },
  dimInteraction: { zh: "互动", en: "Interaction" },
  dimCoverage: { zh: "决策链覆盖", en: "Decision-chain coverage" },
  dimension: { zh: "维度", en: "Dimension" },
  weight: { zh: "权重", en: "Weight" },
  gradeWhy: { zh: "评分说明", en: "Why this grade" },
  gradedAt: { zh: "评分时间", en: "Graded" },
  policyVersion: { zh: "评分规则版本", en: "policy version" },
  gradeLines: { zh: "分级线", en: "lines" },
  noSignals: { zh: "暂无数据。", en: "Nothing yet." },
  contacts: { zh: "联系人", en: "Contacts" },
  noContacts: { zh: "还没有联系人。", en: "No contact yet." },
  role_decision_maker: { zh: "决策者", en: "Decision maker" },
  role_influencer: { zh: "影响者", en: "Influencer" },
  role_user: { zh: "使用者", en: "User" },
  role_gatekeeper: { zh: "把关者", en: "Gatekeeper" },
  role_unknown: { zh: "角色未知", en: "Role unknown" },
  team: { zh: "团队", en: "Team" },
  standings: { zh: "代表排名", en: "Reps' standing" },
  standingsHelp: {
    zh: "近 90 天各项指标在全公司代表中的位置（TOP 越小越好）。",
    en: "Where each rep stands among all reps over 90 days (a smaller TOP is better).",
  },
  coverageDepth: { zh: "客户覆盖深度", en: "Coverage depth" },
  proposalsPerMonth: { zh: "月均方案数", en: "Proposals a month" },
  suggestion: { zh: "建议", en: "Suggestion" },
  invalidVisits: { zh: "无效拜访", en: "Invalid visits" },
  last30Days: { zh: "近 30 天", en: "Last 30 days" },
  visitsCount: { zh: "次拜访", en: "visits" },
  invalid: { zh: "无效", en: "Invalid" },
  far: { zh: "距离过远", en: "Too far" },
  invalidRate: { zh: "无效拜访率", en: "Invalid rate" },
  tagSpikes: { zh: "门店销售标签突增", en: "Store sale-tag spikes" },
  noSpikes: { zh: "近 8 周没有突增。", en: "No spike in 8 weeks." },
  baseline: { zh: "基线", en: "baseline" },
  rules: { zh: "规则", en: "Rules" },
  rule: { zh: "规则", en: "Rule" },
  newRule: { zh: "新建规则", en: "New rule" },
  when: { zh: "当…", en: "When" },
  ifAll: { zh: "如果以下条件都满足", en: "If all of these hold" },
  then: { zh: "就…", en: "Then" },
  about: { zh: "作用对象", en: "About" },
  version: { zh: "版本", en: "Version" },
  versions: { zh: "历史版本", en: "Versions" },
  current: { zh: "当前版本", en: "Current" },
  rollBack: { zh: "回滚到此版本", en: "Roll back to this" },
  changedAt: { zh: "修改时间", en: "Changed" },
  enabled: { zh: "启用", en: "Enabled" },
  disabled: { zh: "停用", en: "Disabled" },
  ruleId: { zh: "规则编号（小写字母、数字、连字符）", en: "Rule id (lower-case letters, digits, hyphens)" },
  ruleName: { zh: "规则名称", en: "Rule name" },
  condition: { zh: "条件", en: "Condition" },
  field: { zh: "字段", en: "Field" },
  operator: { zh: "比较", en: "Test" },
  value: { zh: "值", en: "Value" },
  noConditions: { zh: "没有条件：每次触发都执行。", en: "No condition: it acts on every trigger." },
  addCondition: { zh: "添加条件", en: "Add a condition" },
  conditionsJson: { zh: "条件（JSON，含“或/非”）", en: "Conditions (JSON, with any/not)" },
  conditionsNotJson: { zh: "条件不是有效的 JSON。", en: "The conditions are not valid JSON." },
  action: { zh: "动作", en: "Action" },
  addAction: { zh: "添加动作", en: "Add an action" },
  remove: { zh: "删除", en: "Remove" },
  dryRunDays: { zh: "试运行最近几天", en: "Dry run over the last days" },
  dryRun: { zh: "试运行", en: "Dry run" },
  dryRunResult: { zh: "试运行结果", en: "Dry run" },
  dryRunSummary: {
    zh: "最近 {days} 天有 {examined} 个触发事件，其中 {matched} 个会执行。",
    en: "In the last {days} days, {examined} events triggered it and {matched} would have acted.",
  },
  wouldDo: { zh: "将会", en: "Would" },
  save: { zh: "保存", en: "Save" },
  savedNewVersion: { zh: "已保存为新版本。", en: "Saved as a new version." },
  routineVisit: { zh: "例行拜访", en: "Routine visit" },
  checkIn: { zh: "在此签到拜访", en: "Check in here" },
  locating: { zh: "正在定位…", en: "Finding you…" },
  noGeolocation: { zh: "这台设备无法定位。", en: "This device cannot tell where it is." },
  geoDenied: {
    zh: "需要允许定位才能签到，请在浏览器设置中打开。",
    en: "Allow location in the browser's settings to check in.",
  },
  geoUnavailable: { zh: "暂时无法定位，请到开阔处再试。", en: "No position yet; try again in the open." },
  checkedIn: { zh: "签到于", en: "Checked in" },
  checkInFar: {
    zh: "签到位置离客户地址太远，经理会看到。",
    en: "You checked in far from the customer's address; your manager will see it.",
  },
  whatYouDid: { zh: "做了什么", en: "What you did" },
  checkOut: { zh: "签退", en: "Check out" },
  checkedOut: { zh: "已签退", en: "Checked out" },
  visitValid: { zh: "有效拜访", en: "A valid visit" },
  visitInvalid: { zh: "无效拜访", en: "Not a valid visit" },
  photos: { zh: "张照片", en: "photos" },
  saleTags: { zh: "快速销售标签", en: "Quick sale tags" },
  tagFocus: { zh: "顾客关注", en: "What they cared about" },
  tagObstacle: { zh: "成交障碍", en: "What held them back" },
  tagCompetitor: { zh: "对比竞品", en: "Competitor compared" },
  recordSale: { zh: "记录一笔", en: "Record the sale" },
  salesRecorded: { zh: "本次已记录 {n} 笔", en: "{n} recorded here" },
  kind: { zh: "类型", en: "Kind" },
  kind_store: { zh: "门店", en: "Store" },
  kind_distributor: { zh: "经销商", en: "Distributor" },
  kind_enterprise: { zh: "企业", en: "Enterprise" },
  kind_other: { zh: "其他", en: "Other" },
  table: { zh: "表格", en: "table" },
  field_name: { zh: "姓名", en: "Name" },
  field_title: { zh: "职务", en: "Title" },
  field_company: { zh: "公司", en: "Company" },
  field_department: { zh: "部门", en: "Department" },
  field_phone: { zh: "电话", en: "Phone" },
  field_email: { zh: "邮箱", en: "E-mail" },
  field_website: { zh: "网址", en: "Website" },
  field_address: { zh: "地址", en: "Address" },
  checkThis: { zh: "请核对", en: "please check" },
  alreadyKnown: { zh: "已有记录", en: "Already known" },
  proposalLead: {
    zh: "已有一条线索用了这个电话或邮箱。合并到那条线索？",
    en: "A lead already has this phone or e-mail. Merge the card into it?",
  },
  proposalContact: {
    zh: "客户的联系人里已有这个电话或邮箱。合并到该联系人？",
    en: "A customer's contact already has this phone or e-mail. Merge the card into it?",
  },
  merge: { zh: "合并", en: "Merge" },
  keepApart: { zh: "另建新的", en: "Keep apart" },
  merged: { zh: "已合并", en: "Merged" },
  keptApart: { zh: "已另建", en: "Kept apart" },
  correct: { zh: "改正文字", en: "Correct the text" },
  correctedByYou: { zh: "（已由您改正）", en: "(corrected by you)" },
  transcript: { zh: "语音文字", en: "Transcript" },
  nextContact: { zh: "下次联系", en: "Next contact" },
  promised: { zh: "承诺", en: "Promised" },
  pasteCard: { zh: "粘贴名片文字", en: "Paste a card as text" },
  pasteCardHelp: {
    zh: "微信名片、邮件签名等文字，粘贴到这里。",
    en: "A WeChat card or an e-mail signature, pasted as text.",
  },
  readIt: { zh: "识别", en: "Read it" },
  linkCreated: { zh: "新建了", en: "Made a" },
  linkChanged: { zh: "更新了", en: "Updated a" },
  linkProposed: { zh: "待您确认合并到", en: "Waits for you: merge into a" },
  contact: { zh: "联系人", en: "contact" },
  activity: { zh: "跟进记录", en: "follow-up" },
  task: { zh: "待办", en: "task" },
  selfTest: { zh: "过程健康自检", en: "Process self-test" },
  completeness: { zh: "信息完整度", en: "Information completeness" },
  activeReps: { zh: "周活跃代表", en: "Weekly active reps" },
  activeOf: { zh: "{reps} 人中 {active} 人", en: "{active} of {reps} reps" },
  leadSla: { zh: "线索 SLA", en: "Lead SLAs" },
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
  orders: { zh: "订单", en: "Orders" },
  orderStatus: { zh: "状态", en: "Status" },
  orderAll: { zh: "全部", en: "All" },
  order_draft: { zh: "草稿", en: "Draft" },
  order_submitted: { zh: "待审批", en: "Awaiting approval" },
  order_approved: { zh: "已审批（待付款）", en: "Approved (awaiting payment)" },
  order_to_ship: { zh: "待发货", en: "To ship" },
  order_shipped: { zh: "已发货", en: "Shipped" },
  order_delivered: { zh: "已签收", en: "Delivered" },
  order_cancelled: { zh: "已取消", en: "Cancelled" },
  orderSubmit: { zh: "提交", en: "Submit" },
  orderApprove: { zh: "审批通过", en: "Approve" },
  orderShip: { zh: "确认发货", en: "Confirm shipment" },
  orderDeliver: { zh: "确认签收", en: "Confirm delivery" },
  order_submit_done: { zh: "已提交", en: "Submitted" },
  order_approve_done: { zh: "已通过", en: "Approved" },
  order_ship_done: { zh: "已发货", en: "Shipped" },
  order_deliver_done: { zh: "已签收", en: "Delivered" },
  noOrders: { zh: "没有订单。", en: "No orders." },
  deliveryAddress: { zh: "送货地址", en: "Deliver to" },
  orderHolds: { zh: "待审原因", en: "Held for" },
  hold_credit_frozen: { zh: "信用冻结（逾期未付）", en: "credit frozen (overdue payment)" },
  hold_discount: { zh: "折扣超限", en: "discount above the limit" },
  hold_below_floor: { zh: "低于底价", en: "below the floor price" },
  approvalNote: { zh: "审批意见", en: "Approval note" },
  replenishment: { zh: "补货建议", en: "Replenishment" },
  replenishmentHelp: {
    zh: "低于再订货点的库存：先从就近仓库调拨，不足部分采购。",
    en: "Stock at or below its reorder point: move spare units from the nearest warehouses first, buy the rest.",
  },
  nothingToReplenish: { zh: "库存充足，无需补货。", en: "Nothing to replenish." },
  warehouse: { zh: "仓库", en: "Warehouse" },
  available: { zh: "可用", en: "Available" },
  reorderPoint: { zh: "再订货点", en: "Reorder point" },
  suggested: { zh: "建议补货", en: "Suggested" },
  transfers: { zh: "调拨", en: "Transfers" },
  purchase: { zh: "采购", en: "Buy" },
  dataNav: { zh: "导入导出", en: "Import & export" },
  importsTitle: { zh: "导入与导出", en: "Import and export" },
  importTitle: { zh: "导入表格", en: "Import a spreadsheet" },
  importHelp: {
    zh: "CSV（UTF-8、GBK 均可）或 Excel .xlsx，最大 64 MB。先试导入查看每一行的结果；正式导入时只要有一行有误，就一行也不写入。",
    en: "CSV (UTF-8 or GBK) or Excel .xlsx, up to 64 MB. Try it first to see every row's outcome; an import writes every row or, if any row is refused, none.",
  },
  importKind: { zh: "导入内容", en: "What to import" },
  importFile: { zh: "文件", en: "File" },
  importMap: { zh: "列对应（可选）", en: "Column mapping (optional)" },
  importDryRun: { zh: "试导入", en: "Try it" },
  importCommit: { zh: "正式导入", en: "Import" },
  importSending: { zh: "正在上传文件…", en: "Sending the file…" },
  importQueued: { zh: "已排队，等待处理…", en: "Queued…" },
  importChecking: { zh: "正在检查", en: "Checking" },
  importWriting: { zh: "正在写入", en: "Writing" },
  importChecked: { zh: "检查完成，未写入任何数据。", en: "Checked; nothing was written." },
  importCommitted: { zh: "导入完成。", en: "Imported." },
  importRejected: {
    zh: "有行被拒绝，未写入任何数据。改正后重新导入。",
    en: "Some rows are refused; nothing was written. Correct them and import again.",
  },
  importFailed: { zh: "无法导入", en: "Could not import" },
  importTooLarge: { zh: "文件为空或超过 64 MB。", en: "The file is empty or over 64 MB." },
  importRows: { zh: "行数", en: "Rows" },
  importCreated: { zh: "新建", en: "created" },
  importUpdated: { zh: "更新", en: "updated" },
  importUnchanged: { zh: "未变", en: "unchanged" },
  importErrors: { zh: "错误", en: "refused" },
  importErrorRows: { zh: "被拒绝的行", en: "Refused rows" },
  importRow: { zh: "行号", en: "Row" },
  importKey: { zh: "记录", en: "Record" },
  importWhy: { zh: "原因", en: "Why" },
  importRow_invalid_field: { zh: "值无效", en: "Invalid value" },
  importRow_duplicate_row: { zh: "与前面的行重复", en: "Repeats an earlier row" },
  importRow_duplicate: { zh: "已属于其他记录", en: "Belongs to another record" },
  importRow_not_found: { zh: "找不到引用的记录", en: "Refers to nothing stored" },
  importRow_formula_cell: { zh: "单元格是公式", en: "A formula cell" },
  importRow_forbidden: { zh: "无权操作", en: "Not yours to change" },
  importRow_conflict: { zh: "状态冲突", en: "Conflicts with its state" },
  importRow_invalid_transition: { zh: "状态无法变更", en: "Cannot change state" },
  exportTitle: { zh: "导出", en: "Export" },
  exportHelp: {
    zh: "导出您权限范围内的数据；客户、线索、订单、物料和库存的导出文件可直接再导入。",
    en: "Lists as you may see them; customers, leads, orders, SKUs and stock read back through the import.",
  },
  list_customers: { zh: "客户及联系人", en: "Customers and contacts" },
  list_leads: { zh: "线索", en: "Leads" },
  list_deals: { zh: "商机", en: "Deals" },
  list_orders: { zh: "订单（历史）", en: "Orders (history)" },
  list_visits: { zh: "拜访（近一年）", en: "Visits (last year)" },
  list_skus: { zh: "物料（商品目录）", en: "SKUs (catalogue)" },
  list_stock: { zh: "库存", en: "Stock" },
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
  /** A span of time in the largest unit that reads well (minutes, hours or days). */
  duration: (seconds: number) => string;
  describe: (error: unknown) => string;
  /** A capture failure's stable code in words, or the server's message for a code we have
   * no words for. */
  uploadError: (code: string, message: string) => string;
  /** An import row's refusal: its stable code in words, then the server's detail (which
   * quotes the cell); the detail alone for a code we have no words for. */
  rowError: (code: string | null | undefined, message: string) => string;
  /** The half of a tenant-written "中文 / English" text in this language (titles and
   * reasons rules write in both); any other text as it is. */
  pick: (text: string) => string;
}

/** The share of a text's letters that are Chinese characters. */
function hanShare(text: string): number {
  const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
  const latin = text.match(/\p{Script=Latin}/gu)?.length ?? 0;
  return han + latin === 0 ? 0 : han / (han + latin);
}

/** "中文 / English" → the half in `language`: the Chinese half is the one with clearly more
 * Chinese characters among its letters. */
export function pickLanguage(text: string, language: Language): string {
  const halves = text.split(" / ").map((h) => h.trim());
  const [first, second] = halves;
  if (halves.length !== 2 || !first || !second) return text;
  const [a, b] = [hanShare(first), hanShare(second)];
  // Clearly apart: names filled into either half (an English company in the Chinese one, a
  // Chinese company in the English one) must not blur which half is which.
  if (Math.abs(a - b) < 0.25 || Math.min(a, b) >= 0.5) return text;
  const [chinese, other] = a > b ? [first, second] : [second, first];
  return language === "zh" ? chinese : other;
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
    duration: (seconds) => {
      const unit = (value: number, u: "minute" | "hour" | "day") =>
        new Intl.NumberFormat(locale, {
          style: "unit",
          unit: u,
          unitDisplay: "long",
          maximumFractionDigits: 1,
        }).format(value);
      if (seconds < 3600) return unit(Math.round(seconds / 60), "minute");
      if (seconds < 48 * 3600) return unit(seconds / 3600, "hour");
      return unit(seconds / 86400, "day");
    },
    describe: (error) => describe(error, t),
    uploadError: (code, message) => (code in words ? t(code as Word) : message),
    rowError: (code, message) => {
      const word = `importRow_${code ?? ""}`;
      return word in words ? `${t(word as Word)} — ${message}` : message;
    },
    pick: (text) => pickLanguage(text, language),
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
