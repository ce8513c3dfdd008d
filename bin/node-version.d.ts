export declare const supportedNode: string;
export declare function nodeVersionProblem(version: string): string | undefined;
