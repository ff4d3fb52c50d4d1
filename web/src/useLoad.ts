import { useCallback, useEffect, useState } from "react";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

interface State<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
}

/** Runs `load` on mount and whenever `reload` is called; the latest answer wins, and the
 * last good data stays on screen while a reload runs or fails. */
export function useLoad<T>(load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<State<T>>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState((s) => ({ ...s, error, loading: false })),
    );
    return () => {
      current = false;
    };
    // `load` is recreated on every render; `round` is what asks for a new load.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [round]);
  const reload = useCallback(() => {
    setState((s) => ({ ...s, loading: true }));
    setRound((r) => r + 1);
  }, []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
