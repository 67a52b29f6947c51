import { useEffect, useState } from 'react';
import { ApiError, getJSON, send } from './api.js';
import { bytes, duration } from './format.js';

const PROMPT = '__prompt__';

/** A labelled input with the server's error for it beside it. */
function Field({ name, label, hint, error, required, children }) {
  const id = `f-${name.replace(/\./g, '-')}`;
  return (
    <div className={`field${error ? ' has-error' : ''}`} data-field={name}>
      <label htmlFor={id}>
        {label}
        {required && <span className="req" aria-label="required"> *</span>}
      </label>
      {children(id, error ? `${id}-error` : hint ? `${id}-hint` : undefined)}
      {error ? (
        <div className="field-error" id={`${id}-error`} role="alert" data-error-for={name}>
          {error}
        </div>
      ) : hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
    </div>
  );
}

function TextField({ name, label, hint, value, onChange, errors, required, placeholder, multiline, inputMode }) {
  return (
    <Field name={name} label={label} hint={hint} error={errors[name]} required={required}>
      {(id, describedBy) =>
        multiline ? (
          <textarea
            id={id}
            name={name}
            rows={4}
            value={value}
            placeholder={placeholder}
            aria-invalid={errors[name] ? 'true' : undefined}
            aria-describedby={describedBy}
            onChange={(e) => onChange(e.target.value)}
          />
        ) : (
          <input
            id={id}
            name={name}
            type="text"
            inputMode={inputMode}
            value={value}
            placeholder={placeholder}
            aria-invalid={errors[name] ? 'true' : undefined}
            aria-describedby={describedBy}
            onChange={(e) => onChange(e.target.value)}
          />
        )
      }
    </Field>
  );
}

/** "" → undefined; numbers as numbers; anything else as typed (the server says what is wrong). */
function numberOrRaw(text) {
  const t = text.trim();
  if (!t) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

function Limits({ values, set, errors, defaults }) {
  return (
    <fieldset className="limits">
      <legend>Limits {defaults ? null : <span className="muted">(per step; empty: template default)</span>}</legend>
      <div className="limit-rows">
        <TextField
          name="cpus"
          label="CPUs"
          inputMode="decimal"
          placeholder={defaults && defaults.cpus != null ? String(defaults.cpus) : '0.8'}
          value={values.cpus}
          onChange={(v) => set('cpus', v)}
          errors={errors}
        />
        <TextField
          name="memory"
          label="Memory"
          placeholder={defaults && defaults.memory ? bytes(defaults.memory).replace(' GiB', 'G').replace(' MiB', 'M') : '800M'}
          hint="e.g. 512M, 1.5G"
          value={values.memory}
          onChange={(v) => set('memory', v)}
          errors={errors}
        />
        <TextField
          name="timeout"
          label="Timeout (s)"
          inputMode="decimal"
          placeholder={defaults && defaults.timeout ? String(defaults.timeout) : '600'}
          hint={defaults && defaults.timeout ? duration(defaults.timeout * 1000) : undefined}
          value={values.timeout}
          onChange={(v) => set('timeout', v)}
          errors={errors}
        />
      </div>
    </fieldset>
  );
}

export default function StartForm({ onStarted }) {
  const [mode, setMode] = useState('workflow');
  const [templates, setTemplates] = useState([]);
  const [template, setTemplate] = useState('brand-data');
  const [vars, setVars] = useState({});
  const [wf, setWf] = useState({ brand: '', website: '', objective: '' });
  const [prompt, setPrompt] = useState('');
  const [limits, setLimits] = useState({ cpus: '', memory: '', timeout: '' });
  const [errors, setErrors] = useState({});
  const [general, setGeneral] = useState([]);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    getJSON('/api/templates')
      .then((ts) => setTemplates(ts))
      .catch(() => setTemplates([]));
  }, []);

  const tpl = templates.find((t) => t.name === template);
  const setLimit = (k, v) => setLimits((l) => ({ ...l, [k]: v }));
  const clearErrors = () => {
    setErrors({});
    setGeneral([]);
  };

  const limitBody = () => {
    const out = {};
    const cpus = numberOrRaw(limits.cpus);
    const timeout = numberOrRaw(limits.timeout);
    if (cpus !== undefined) out.cpus = cpus;
    if (limits.memory.trim()) out.memory = limits.memory.trim();
    if (timeout !== undefined) out.timeout = timeout;
    return out;
  };

  const submit = async (e) => {
    e.preventDefault();
    clearErrors();
    setBusy(true);
    try {
      if (mode === 'workflow') {
        const variables = {};
        if (wf.website.trim()) variables.website = wf.website.trim();
        if (wf.objective.trim()) variables.objective = wf.objective.trim();
        const out = await send('POST', '/api/workflows', { brand: wf.brand, variables, ...limitBody() });
        onStarted(out.job_ids[0], out);
      } else {
        const body = { ...limitBody() };
        if (template === PROMPT) {
          body.prompt = prompt;
        } else {
          body.template = template;
          body.variables = Object.fromEntries(Object.entries(vars).filter(([, v]) => v.trim() !== ''));
        }
        const out = await send('POST', '/api/jobs', body);
        onStarted(out.id, out);
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        const fields = { ...err.fields };
        // Workflow variables are fields of their own in this form.
        for (const k of Object.keys(fields)) {
          if (mode === 'workflow' && k.startsWith('variables.')) {
            fields[k.slice('variables.'.length)] = fields[k];
          }
        }
        setErrors(fields);
        const shown = new Set(visibleFields());
        const rest = Object.entries(fields)
          .filter(([k]) => !shown.has(k) && !shown.has(k.replace(/^variables\./, '')))
          .map(([k, v]) => `${k}: ${v}`);
        setGeneral([...err.general, ...rest]);
      } else {
        setGeneral([err.message || String(err)]);
      }
    } finally {
      setBusy(false);
    }
  };

  const visibleFields = () => {
    const common = ['cpus', 'memory', 'timeout'];
    if (mode === 'workflow') return [...common, 'brand', 'website', 'objective'];
    if (template === PROMPT) return [...common, 'prompt'];
    return [...common, 'template', ...Object.keys((tpl && tpl.variables) || {}).map((v) => `variables.${v}`)];
  };

  return (
    <form className="start-form" onSubmit={submit} noValidate data-testid="start-form">
      <div className="tabs" role="tablist">
        <button
          type="button"
          role="tab"
          aria-selected={mode === 'workflow'}
          className={mode === 'workflow' ? 'tab active' : 'tab'}
          onClick={() => {
            setMode('workflow');
            clearErrors();
          }}
        >
          Workflow
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={mode === 'job'}
          className={mode === 'job' ? 'tab active' : 'tab'}
          onClick={() => {
            setMode('job');
            clearErrors();
          }}
        >
          Single job
        </button>
      </div>

      {mode === 'workflow' ? (
        <>
          <p className="muted small flow">
            <span>research</span> → <span>brief</span> → <span>draft</span>: each step starts when the one before it
            succeeds, with its output as input.
          </p>
          <TextField name="brand" label="Brand" required value={wf.brand} onChange={(v) => setWf({ ...wf, brand: v })} errors={errors} placeholder="e.g. Acme Coffee" />
          <TextField name="website" label="Website" value={wf.website} onChange={(v) => setWf({ ...wf, website: v })} errors={errors} placeholder="https://…" />
          <TextField
            name="objective"
            label="Objective"
            value={wf.objective}
            onChange={(v) => setWf({ ...wf, objective: v })}
            errors={errors}
            placeholder="raise awareness with a new audience"
          />
          <Limits values={limits} set={setLimit} errors={errors} />
        </>
      ) : (
        <>
          <Field name="template" label="Template" error={errors.template} required>
            {(id, describedBy) => (
              <select
                id={id}
                name="template"
                value={template}
                aria-describedby={describedBy}
                onChange={(e) => {
                  setTemplate(e.target.value);
                  setVars({});
                  clearErrors();
                }}
              >
                {templates.map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.name}
                  </option>
                ))}
                <option value={PROMPT}>(custom prompt)</option>
              </select>
            )}
          </Field>
          {tpl && <p className="muted small">{tpl.description}</p>}
          {template === PROMPT ? (
            <TextField name="prompt" label="Prompt" required multiline value={prompt} onChange={setPrompt} errors={errors} />
          ) : (
            tpl &&
            Object.entries(tpl.variables).map(([name, v]) => (
              <TextField
                key={name}
                name={`variables.${name}`}
                label={name}
                required={v.required}
                multiline={name === 'research' || name === 'brief'}
                hint={v.description}
                placeholder={v.default || ''}
                value={vars[name] || ''}
                onChange={(val) => setVars((s) => ({ ...s, [name]: val }))}
                errors={errors}
              />
            ))
          )}
          <Limits values={limits} set={setLimit} errors={errors} defaults={tpl ? { ...tpl.limits, timeout: tpl.timeout } : null} />
        </>
      )}

      {general.length > 0 && (
        <div className="form-error" role="alert" data-testid="form-error">
          {general.map((g, i) => (
            <div key={i}>{g}</div>
          ))}
        </div>
      )}
      <div className="form-actions">
        <button type="submit" className="btn primary" disabled={busy} data-testid="submit">
          {busy ? 'Starting…' : mode === 'workflow' ? 'Start workflow' : 'Start job'}
        </button>
      </div>
    </form>
  );
}
