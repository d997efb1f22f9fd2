export type Status = 'ok' | 'warn' | 'fail'

/** One line of `fedobs verify`: ✔, ‼ or ✖, a message, and a hint when it is not ok. */
export interface Check {
  id: string
  name: string
  status: Status
  message: string
  hint?: string
  cluster?: string
}

export interface CheckGroup {
  name: string
  checks: Check[]
}
