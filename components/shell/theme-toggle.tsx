"use client";

import { useState } from "react";

/** Switches dark/light; the choice lives in a cookie so the server renders it on the next request. */
export function ThemeToggle({ initial }: { initial: "dark" | "light" }) {
  const [theme, setTheme] = useState(initial);
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      className="rounded-md px-2 py-1 text-sm muted hover:bg-[var(--panel-2)]"
      aria-label={`Switch to ${next} theme`}
      data-testid="theme-toggle"
      onClick={() => {
        document.documentElement.classList.toggle("dark", next === "dark");
        document.documentElement.dataset.theme = next;
        document.cookie = `theme=${next}; path=/; max-age=31536000; samesite=lax`;
        setTheme(next);
      }}
    >
      {theme === "dark" ? "☀ Light" : "☾ Dark"}
    </button>
  );
}
