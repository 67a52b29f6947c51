import { useEffect, useRef, useState } from 'react';
import { keyIsWanted, onKeyChange, setApiKey } from './api.js';

/** Whether the page waits for an API key, and whether the last one was refused. */
export function useKeyWanted() {
  const [state, setState] = useState({ wanted: keyIsWanted(), refused: false });
  useEffect(
    () =>
      onKeyChange(({ wanted, refused }) => {
        setState({ wanted, refused });
      }),
    [],
  );
  return state;
}

/**
 * Asks for the API key (the service answered 401): kept in this tab's
 * sessionStorage and sent as `Authorization: Bearer` from then on.
 */
export default function KeyPrompt({ refused }) {
  const [value, setValue] = useState('');
  const input = useRef(null);
  useEffect(() => {
    if (input.current) input.current.focus();
  }, [refused]);
  const submit = (e) => {
    e.preventDefault();
    const key = value.trim();
    if (key) {
      setValue('');
      setApiKey(key);
    }
  };
  return (
    <div className="modal-backdrop">
      <form className="modal card" role="dialog" aria-modal="true" aria-labelledby="key-title" data-testid="key-prompt" onSubmit={submit}>
        <h2 id="key-title">API key</h2>
        <p className="muted">
          This service needs an API key. It is kept in this browser tab only (session storage) and sent with every request.
        </p>
        {refused && (
          <p className="field-error" role="alert" data-testid="key-refused">
            The service refused that key: missing or wrong API key.
          </p>
        )}
        <label htmlFor="api-key">Key</label>
        <input
          id="api-key"
          ref={input}
          type="password"
          autoComplete="off"
          spellCheck="false"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          data-testid="key-input"
        />
        <div className="modal-actions">
          <button type="submit" className="btn primary" data-testid="key-submit" disabled={!value.trim()}>
            Use key
          </button>
        </div>
      </form>
    </div>
  );
}
